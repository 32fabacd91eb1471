import { AppError } from '../http/app-error'
import type { PasswordHasher } from './passwords'

/**
 * The two kinds of argon2 work, in priority order. A verification is someone logging in now; a new
 * hash (create, password change) can wait: during a flood of creates, verifications still get the
 * next free slot.
 */
export const HASHING_LANES = ['verify', 'hash'] as const
export type HashingLane = (typeof HASHING_LANES)[number]

export type HashingPoolOptions = {
  /** How many argon2 computations run at once (PASSWORD_HASH_CONCURRENCY; default: the cores). */
  concurrency: number
  /** How many may wait in each lane (PASSWORD_HASH_QUEUE); one more is refused at once. */
  queueLimit: number
}

/** For the metrics: jobs running now, waiting now, and refused since start. */
export type HashingPoolStats = { running: number; queued: Record<HashingLane, number>; rejected: Record<HashingLane, number> }

export type HashingPool = PasswordHasher & { stats(): HashingPoolStats }

type Job = { start(): void }

/** What one argon2 job is assumed to take until the first ones are measured (STACK.md: ~100 ms). */
const INITIAL_JOB_MS = 100

/**
 * Bounds the argon2 work of `inner` (about 100 ms of CPU and 64 MiB each): at most `concurrency`
 * jobs run, at most `queueLimit` wait per lane, verifications before new hashes. With two slots or
 * more, a new hash never takes the last free one: a login never waits for a hash to finish, only
 * for the logins ahead of it, and competes for the CPU with the hashes already running only (on a
 * 2-core machine, two argon2 jobs at once take about twice as long each). A job that finds its lane full is refused before any hashing with a 503
 * `service_unavailable` whose Retry-After is the time the work ahead of it needs. Unbounded, 60
 * parallel creates made one login take 4.3 s instead of 0.17 s (issue 13).
 */
export function createHashingPool(inner: PasswordHasher, options: HashingPoolOptions): HashingPool {
  const queues: Record<HashingLane, Job[]> = { verify: [], hash: [] }
  const running: Record<HashingLane, number> = { verify: 0, hash: 0 }
  const rejected: Record<HashingLane, number> = { verify: 0, hash: 0 }
  // A new hash never takes the last free slot (unless there is only one): a login that arrives
  // starts at once, and no new hash starts beside it until it is done.
  const hashSlots = Math.max(1, options.concurrency - 1)
  // A moving average of job durations: what Retry-After is estimated from.
  let jobMs = INITIAL_JOB_MS

  const runningTotal = () => running.verify + running.hash
  const canStart = (lane: HashingLane) => runningTotal() < (lane === 'verify' ? options.concurrency : hashSlots)

  function next(): void {
    for (const lane of HASHING_LANES) {
      while (queues[lane].length > 0 && canStart(lane)) queues[lane].shift()?.start()
    }
  }

  function retryAfterSeconds(lane: HashingLane): number {
    const slots = lane === 'verify' ? options.concurrency : hashSlots
    const ahead = running[lane] + queues[lane].length + (lane === 'hash' ? queues.verify.length : 0)
    return Math.max(1, Math.ceil((ahead * jobMs) / slots / 1000))
  }

  function submit<T>(lane: HashingLane, work: () => Promise<T>): Promise<T> {
    if (!canStart(lane) && queues[lane].length >= options.queueLimit) {
      rejected[lane]++
      const seconds = retryAfterSeconds(lane)
      return Promise.reject(
        new AppError('service_unavailable', `Too many password checks and changes are waiting; retry in ${seconds} s.`, {
          headers: { 'Retry-After': String(seconds) },
        }),
      )
    }
    return new Promise<T>((resolve, reject) => {
      queues[lane].push({
        start() {
          running[lane]++
          const started = performance.now()
          // A hasher that throws instead of rejecting must not take the pool down with it.
          new Promise<T>((done) => done(work())).then(resolve, reject).finally(() => {
            jobMs = 0.8 * jobMs + 0.2 * (performance.now() - started)
            running[lane]--
            next()
          })
        },
      })
      next()
    })
  }

  return {
    hash: (password) => submit('hash', () => inner.hash(password)),
    verify: (password, hash) => submit('verify', () => inner.verify(password, hash)),
    stats: () => ({
      running: runningTotal(),
      queued: { verify: queues.verify.length, hash: queues.hash.length },
      rejected: { ...rejected },
    }),
  }
}
