import { UnavailableError } from '../errors'
import type { PasswordHasher } from './passwords'

/**
 * The two kinds of argon2 work, in priority order. A verification is someone logging in now; a new
 * hash (create, password change) can wait: during a flood of creates, verifications still get the
 * next free slot.
 */
const HASHING_LANES = ['verify', 'hash'] as const
export type HashingLane = (typeof HASHING_LANES)[number]

export type HashingPoolOptions = {
  /** How many argon2 computations run at once (PASSWORD_HASH_CONCURRENCY; default: the cores, 4 at most). */
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
 * jobs run, at most `queueLimit` wait per lane, and a free slot goes to a waiting verification
 * before any waiting hash, so a login waits for one running job at most. A job that finds its lane
 * full is refused before any hashing with a 503 `service_unavailable` whose Retry-After is the time
 * the work ahead of it needs. Unbounded, 60 parallel creates made one login take 4.3 s instead of
 * 0.17 s (issue 13).
 *
 * Measured and left out (bench:hash-flood, 2 cores): keeping one slot free of new hashes brought a
 * login during a flood from 155-172 ms to 126-128 ms (median), but halved the hashes' throughput
 * (a flood drained in 2.9 s instead of 1.7 s); both are well within the issue's bound.
 */
export function createHashingPool(inner: PasswordHasher, options: HashingPoolOptions): HashingPool {
  const queues: Record<HashingLane, Job[]> = { verify: [], hash: [] }
  const rejected: Record<HashingLane, number> = { verify: 0, hash: 0 }
  let running = 0
  // A moving average of job durations: what Retry-After is estimated from.
  let jobMs = INITIAL_JOB_MS

  function next(): void {
    while (running < options.concurrency) {
      const job = queues.verify.shift() ?? queues.hash.shift()
      if (!job) return
      job.start()
    }
  }

  /** Seconds until the jobs ahead of one more in `lane` are done (verifications go first). */
  function retryAfterSeconds(lane: HashingLane): number {
    const ahead = running + queues.verify.length + (lane === 'hash' ? queues.hash.length : 0)
    return Math.max(1, Math.ceil((ahead * jobMs) / options.concurrency / 1000))
  }

  function submit<T>(lane: HashingLane, work: () => Promise<T>): Promise<T> {
    if (running >= options.concurrency && queues[lane].length >= options.queueLimit) {
      rejected[lane]++
      const seconds = retryAfterSeconds(lane)
      return Promise.reject(
        new UnavailableError(`Too many password checks and changes are waiting; retry in ${seconds} s.`, seconds),
      )
    }
    return new Promise<T>((resolve, reject) => {
      queues[lane].push({
        start() {
          running++
          const started = performance.now()
          // A hasher that throws instead of rejecting must not take the pool down with it.
          new Promise<T>((done) => done(work())).then(resolve, reject).finally(() => {
            jobMs = 0.8 * jobMs + 0.2 * (performance.now() - started)
            running--
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
      running,
      queued: { verify: queues.verify.length, hash: queues.hash.length },
      rejected: { ...rejected },
    }),
  }
}
