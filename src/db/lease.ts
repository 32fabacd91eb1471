import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Collection } from 'mongodb'
import type { DatabaseHandle } from './calls'
import { isDuplicateKeyError } from './errors'

/**
 * A fenced lease: at most one holder at a time across every instance sharing the database, for
 * background work that must run once (the events relay, the webhook dispatcher). The lease is one
 * document `{ _id: name, owner, token, leaseUntil }` in `collection`; other fields of that
 * document are left alone, so the work's own state may live beside it.
 *
 * Clocks decide only when an expired lease may be taken over (liveness). Who may write is decided
 * by the **token**, a counter raised by every acquisition: the holder puts `token: <mine>` in the
 * filter of every write it makes to shared state, so a holder that paused past its lease (a GC
 * pause, a stopped VM) and wakes up finds its writes matching nothing once another has taken
 * over. Each acquisition and renewal is one single-document write: correct on MongoDB and on the
 * embedded FerretDB (whose launcher serializes writes).
 */
export type Lease = {
  /** This instance's name in the lease document. */
  readonly owner: string
  /** Whether this instance holds the lease now, by its own clock (false once its term has run out unrenewed). */
  held(): boolean
  /** The fencing token of the current term while held; undefined otherwise. */
  token(): number | undefined
  /** Starts trying to acquire (at once, then every `renewEveryMs`), and renewing once held. */
  start(): void
  /** Stops the loop and releases the lease if held, so another instance takes over without waiting for it to expire. */
  stop(): Promise<void>
}

/** The lease's fields in its document. */
type LeaseDocument = { _id: string; owner?: string; token?: number; leaseUntil?: Date }

export function createLease(
  database: DatabaseHandle,
  options: {
    collection: string
    name: string
    /** How long a term lasts unrenewed: another instance takes over this long after the holder stops renewing. */
    ttlMs: number
    /** How often to renew (held) or try to acquire (not held); well under ttlMs. */
    renewEveryMs: number
    owner?: string
    clock?: () => Date
    /** Told each time this instance gains (true) or loses (false) the lease. */
    onChange?: (held: boolean) => void
  },
): Lease {
  const { call } = database
  const leases = database.db.collection<LeaseDocument>(options.collection)
  const clock = options.clock ?? (() => new Date())
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  const _id = options.name
  /** The current term: its token, and until when it holds by this instance's clock. */
  let term: { token: number; until: number } | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let ticking: Promise<void> | undefined
  let reported = false

  const held = () => term !== undefined && clock().getTime() < term.until
  const report = () => {
    const now = held()
    if (now !== reported) {
      reported = now
      options.onChange?.(now)
    }
  }

  /** One acquisition attempt or renewal; any database failure leaves the term to run out on its own. */
  async function tick(): Promise<void> {
    // The term is counted from before the write is sent: the document's leaseUntil is never earlier.
    const started = clock().getTime()
    const leaseUntil = new Date(started + options.ttlMs)
    try {
      if (term && held()) {
        const { matchedCount } = await call((limit) =>
          leases.updateOne({ _id, owner, token: term?.token }, { $set: { leaseUntil } }, limit),
        )
        if (matchedCount === 1) term = { token: term.token, until: leaseUntil.getTime() }
        else term = undefined
      } else {
        const token = await acquire(leases, { _id, owner, now: new Date(started), leaseUntil }, call)
        term = token === undefined ? undefined : { token, until: leaseUntil.getTime() }
      }
    } catch {
      // Unreachable database: keep the term until it runs out (held() says so), try again next tick.
    }
    report()
  }

  function schedule(): void {
    if (!running) return
    timer = setTimeout(() => {
      ticking = tick().finally(schedule)
    }, options.renewEveryMs)
    timer.unref?.()
  }

  return {
    owner,
    held,
    token: () => (held() ? term?.token : undefined),
    start() {
      if (running) return
      running = true
      ticking = tick().finally(schedule)
    },
    async stop() {
      running = false
      clearTimeout(timer)
      await ticking
      const token = term?.token
      term = undefined
      if (token !== undefined) {
        // Released by expiring it now: the next instance's acquisition needs no wait.
        await call((limit) => leases.updateOne({ _id, owner, token }, { $set: { leaseUntil: new Date(0) } }, limit)).catch(
          () => {},
        )
      }
      report()
    },
  }
}

/**
 * Takes the lease if its term has run out (or it was never held): the new term's token, or
 * undefined when another instance holds it. The first acquisition ever inserts the document
 * (11000: another instance inserted it first, and holds it).
 */
async function acquire(
  leases: Collection<LeaseDocument>,
  { _id, owner, now, leaseUntil }: { _id: string; owner: string; now: Date; leaseUntil: Date },
  call: DatabaseHandle['call'],
): Promise<number | undefined> {
  const claimed = await call((limit) =>
    leases.findOneAndUpdate(
      { _id, $or: [{ leaseUntil: { $lte: now } }, { leaseUntil: { $exists: false } }] },
      { $set: { owner, leaseUntil }, $inc: { token: 1 } },
      { ...limit, returnDocument: 'after' },
    ),
  )
  if (claimed) return claimed.token
  try {
    await call((limit) => leases.insertOne({ _id, owner, token: 1, leaseUntil }, limit))
    return 1
  } catch (error) {
    if (isDuplicateKeyError(error)) return undefined
    throw error
  }
}
