import type { Collection } from 'mongodb'
import type { DatabaseHandle } from './calls'
import { isDuplicateKeyError } from './errors'

/**
 * A lease with a fencing token: one holder at a time across every instance on a database, for
 * background work that must not run twice at once (the events relay, the webhook dispatcher).
 *
 * The lease is the document `{ _id: name, owner, token, leaseUntil }` in `collection` (the holder
 * may keep its own fields in the same document). Taking it over once `leaseUntil` has passed
 * increments `token`; renewing keeps it. Clocks decide only when a lease may be taken over
 * (liveness); the token decides who may write (safety): every write the holder makes to state it
 * guards carries `token: lease.token()` in its filter, so a holder that paused past its lease (a GC
 * pause, a stopped VM) and wakes up can no longer change anything.
 *
 * Single-document atomic operations only (FerretDB and MongoDB alike): the takeover is one
 * findOneAndUpdate guarded by `leaseUntil`, the first start one insert (11000: another instance did).
 */
export type Lease = {
  readonly owner: string
  /** True while this instance holds the lease by its own clock (renewed within ttlMs). */
  held(): boolean
  /** The fencing token while held; undefined otherwise. */
  token(): number | undefined
  /** Tries to take the lease now, then renews or retries it every renewEveryMs. Idempotent. */
  start(): void
  /** Stops renewing and gives the lease up, so another instance takes it over at once. */
  stop(): Promise<void>
}

export type LeaseOptions = {
  collection: string
  /** The lease document's `_id`. */
  name: string
  /** How long a taken or renewed lease lasts without renewal. */
  ttlMs: number
  /** How often the holder renews (and others try to take it); well under ttlMs. */
  renewEveryMs: number
  /** Who holds it, for the document and logs; a random id by default. */
  owner?: string
  clock?: () => Date
  /** Told when this instance gains (true) or loses (false) the lease. */
  onChange?: (held: boolean) => void
}

type LeaseDocument = { _id: string; owner?: string; token?: number; leaseUntil?: Date }

/** What one lease's operations share. */
type LeaseState = {
  documents: Collection<LeaseDocument>
  database: DatabaseHandle
  name: string
  owner: string
  ttlMs: number
  /** The token held and until when (this instance's clock, from before the write that set it). */
  current: { token: number; until: number } | undefined
  /** Once the document is known to exist, no insert is tried again. */
  exists: boolean
}

export function createLease(database: DatabaseHandle, options: LeaseOptions): Lease {
  if (!(options.renewEveryMs > 0 && options.renewEveryMs < options.ttlMs)) {
    throw new RangeError('renewEveryMs must be above 0 and below ttlMs')
  }
  const clock = options.clock ?? (() => new Date())
  const state: LeaseState = {
    documents: database.db.collection<LeaseDocument>(options.collection),
    database,
    name: options.name,
    owner: options.owner ?? crypto.randomUUID(),
    ttlMs: options.ttlMs,
    current: undefined,
    exists: false,
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let ticking: Promise<void> | undefined
  let announced = false

  const held = () => state.current !== undefined && clock().getTime() < state.current.until
  const announce = () => {
    if (held() === announced) return
    announced = !announced
    options.onChange?.(announced)
  }

  async function tick(): Promise<void> {
    const now = clock()
    try {
      if (state.current && now.getTime() < state.current.until) await renew(state, state.current.token, now)
      else await acquire(state, now)
    } catch {
      // The database did not answer: keep what is held until it runs out by the clock (held()
      // turns false by itself), and try again at the next tick.
    }
    announce()
  }

  function schedule(): void {
    if (!running) return
    timer = setTimeout(() => {
      ticking = tick().finally(schedule)
    }, options.renewEveryMs)
    timer.unref?.()
  }

  return {
    owner: state.owner,
    held,
    token: () => (held() ? state.current?.token : undefined),
    start() {
      if (running) return
      running = true
      ticking = tick().finally(schedule)
    },
    async stop() {
      running = false
      clearTimeout(timer)
      await ticking
      const token = state.current?.token
      state.current = undefined
      announce()
      if (token === undefined) return
      // Give it up: whoever tries next takes it over without waiting for the ttl.
      await database
        .call((limit) =>
          state.documents.updateOne({ _id: state.name, owner: state.owner, token }, { $set: { leaseUntil: new Date(0) } }, limit),
        )
        .catch(() => {})
    },
  }
}

async function renew(state: LeaseState, token: number, now: Date): Promise<void> {
  const until = new Date(now.getTime() + state.ttlMs)
  const renewed = await state.database.call((limit) =>
    state.documents.findOneAndUpdate(
      { _id: state.name, owner: state.owner, token },
      { $set: { leaseUntil: until } },
      { ...limit, returnDocument: 'after' },
    ),
  )
  state.current = renewed ? { token, until: until.getTime() } : undefined
}

async function acquire(state: LeaseState, now: Date): Promise<void> {
  const until = new Date(now.getTime() + state.ttlMs)
  const expired = { _id: state.name, $or: [{ leaseUntil: { $lt: now } }, { leaseUntil: { $exists: false } }] }
  const taken = await state.database.call((limit) =>
    state.documents.findOneAndUpdate(
      expired,
      { $set: { owner: state.owner, leaseUntil: until }, $inc: { token: 1 } },
      { ...limit, returnDocument: 'after' },
    ),
  )
  if (typeof taken?.token === 'number') {
    state.exists = true
    state.current = { token: taken.token, until: until.getTime() }
    return
  }
  if (state.exists) return
  try {
    await state.database.call((limit) =>
      state.documents.insertOne({ _id: state.name, owner: state.owner, token: 1, leaseUntil: until }, limit),
    )
    state.current = { token: 1, until: until.getTime() }
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error
  }
  state.exists = true
}
