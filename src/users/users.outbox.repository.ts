import { type Collection, type Filter, ObjectId, type UpdateFilter } from 'mongodb'
import { COMMITTED_READS, type DatabaseHandle } from '../db/calls'
import { createListeners } from '../listeners'
import { USERS_COLLECTION, type UserDocument } from './users.document'
import type { EventBase, OutboxCopy, OutboxPop, OutboxUser, UsersOutbox } from './users.outbox'
import { outboxAsRead, snapshotOf } from './users.outbox.document'

/**
 * Users popped in one write. On MongoDB each statement is an index point write, and one command
 * for several saves each its own round trip and the service's CPU to send it and wake for its
 * answer (on this project's machine a wake-up after a wait costs a few hundred µs: scripts/bench/
 * wakeups.ts). FerretDB holds its write lock for the whole command: 100 statements at once stalled
 * the other writers in the bench. 16 measured no better than 8 while a chunk that matched short
 * sent every one of its users to a read; since the second write (popHeads) made that cheap, 32
 * measured 14 % less CPU per PATCH than 8 (creates the same, within their noise; docs/performance.md).
 */
export const POP_CHUNK = 32

/** A change's write as the users repository tells of it: the document it wrote or got back, and when it was sent. */
export type WrittenCopy = { doc: UserDocument; sentAt: number }

/**
 * The outbox's side for the relay (docs/events.md, "The relay"): finding users with pending
 * events and taking relayed events off them. Every write is guarded so that running it again, or
 * by a relay that lost its lease while paused, changes nothing: it names the events it takes.
 */
export function createUsersOutbox(database: DatabaseHandle): UsersOutbox & { notify(id: string, written?: WrittenCopy): void } {
  const { call } = database
  // Majority reads (COMMITTED_READS): never an outbox a failover can still roll back.
  const users = database.db.collection<UserDocument>(USERS_COLLECTION, COMMITTED_READS)
  const changes = createListeners<[userId: string, copy?: OutboxCopy]>()
  const store: Store = { call, users }

  const readOne = async (id: string) => toOutboxUser(await call((limit) => users.findOne({ _id: new ObjectId(id) }, limit)))

  return {
    // The copy's OutboxUser is made only if the relay uses it: nothing more on the request path.
    notify: (id, written) =>
      changes.notify(
        id,
        written && { version: written.doc.version, sentAt: written.sentAt, user: () => toOutboxUser(written.doc) },
      ),
    onChange: changes.add,

    async pending(count, skip) {
      const filter: Filter<UserDocument> = {
        outboxSince: { $exists: true },
        ...(skip.length > 0 ? { _id: { $nin: skip.map((id) => new ObjectId(id)) } } : {}),
      }
      const docs = await call((limit) => users.find(filter, limit).sort({ outboxSince: 1 }).limit(count).toArray())
      return docs.map(toOutboxUser).filter((user) => user !== null)
    },

    async read(ids) {
      // Point reads by _id, in parallel: the one filter every server serves from an index.
      const found = await Promise.all(ids.map(readOne))
      return found.filter((user) => user !== null)
    },

    async pop(pops) {
      // The chunks at once (each names its own users): a batch's pops wait for the database once,
      // not once per chunk. All of them answered (or given up at their deadline) before a failure is
      // thrown, so the next pass does not start beside this one's pops; one given up may still land
      // later, which the pops' guards and the failed pass's cleared `quiet` allow for.
      const chunks = []
      for (let start = 0; start < pops.length; start += POP_CHUNK) chunks.push(pops.slice(start, start + POP_CHUNK))
      const results = await Promise.allSettled(chunks.map((chunk) => popChunk(store, chunk)))
      const failed = results.find((result) => result.status === 'rejected')
      if (failed) throw failed.reason
      return results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []))
    },
  }
}

/** What the pops write with. */
type Store = { call: DatabaseHandle['call']; users: Collection<UserDocument> }

/** One write for the chunk's users when none changed since the read; else each on its own. */
async function popChunk(store: Store, chunk: readonly OutboxPop[]): Promise<boolean[]> {
  const taking = chunk.filter(({ bases }) => bases.length > 0)
  if (taking.length > 0) {
    const whole = taking.map(({ user, bases }) => ({ updateOne: wholePop(user, bases) }))
    const result = await store.call((limit) => store.users.bulkWrite(whole, { ordered: false, ...limit }))
    let matched = result.matchedCount
    if (matched < taking.length) matched += await popHeads(store, taking)
    if (matched === taking.length) return chunk.map(({ user }) => user.erased)
  }
  // Some user changed since the read otherwise (an erasure, a pop by another relay, a change of a
  // user with several events taken), and the bulk writes do not say which: a point read of each
  // tells. A user whose first event to take still leads its outbox was not popped, and goes one
  // event at a time, each named; the others were (their erased state now is what that path would
  // read too).
  const now = await Promise.all(chunk.map(({ user, bases }) => (bases.length > 0 ? headOf(store, user.id) : null)))
  const erased: boolean[] = []
  for (const [index, { user, bases }] of chunk.entries()) {
    const stored = now[index]
    const popped = bases.length > 0 && stored?.head !== user.pending[0]?.id
    erased.push(popped ? stored?.erased === true : await popEach(store, user, bases))
  }
  return erased
}

/**
 * After the chunk's write matched fewer users than it named: the usual reason is a change
 * appended to a user's outbox since the read (a busy user; a fifth of the chunks of the bench's
 * PATCH load). A user with one event to take loses it to a write that names it at the front and
 * wants something after it: no other write of this chunk can match that user now (its own took
 * that event off the front, or matched nothing), so the two writes' counts add up to the chunk's
 * only when every user was popped once, and no read is needed to tell which. How many it matched.
 */
async function popHeads(store: Store, taking: readonly OutboxPop[]): Promise<number> {
  const heads = taking.flatMap(({ user, bases }) => (bases.length === 1 ? [{ updateOne: headPop(user, bases) }] : []))
  if (heads.length === 0) return 0
  const result = await store.call((limit) => store.users.bulkWrite(heads, { ordered: false, ...limit }))
  return result.matchedCount
}

/**
 * The write taking `user`'s first event off when events were appended after it since the read (in
 * the same state, erased or not). `outboxSince` stays: events are pending still, and it stays at or
 * before the oldest of them, as the changes' `$min` leaves it (popEach does the same).
 */
function headPop(user: OutboxUser, bases: readonly EventBase[]) {
  const filter: Filter<UserDocument> = {
    _id: new ObjectId(user.id),
    'pendingEvents.0.id': user.pending[0]?.id,
    [`pendingEvents.${user.pending.length}`]: { $exists: true },
    erasedAt: { $exists: user.erased },
  }
  const update: UpdateFilter<UserDocument> = { $pop: { pendingEvents: -1 }, $set: { eventBase: bases[0] } }
  return { filter, update }
}

/** The id of the event leading a user's outbox now, and whether the user is erased (null: no such user). */
async function headOf({ call, users }: Store, id: string): Promise<{ head: string | undefined; erased: boolean } | null> {
  const projection = { pendingEvents: 1, erasedAt: 1 }
  const doc = await call((limit) => users.findOne({ _id: new ObjectId(id) }, { ...limit, projection }))
  return doc ? { head: doc.pendingEvents?.[0]?.id, erased: doc.erasedAt !== undefined } : null
}

/** One user's events one at a time, each named: whether the user is erased. */
async function popEach({ call, users }: Store, user: OutboxUser, bases: readonly EventBase[]): Promise<boolean> {
  if (bases.length === 0) return user.erased
  const _id = new ObjectId(user.id)
  let erased = false
  let unknown = false
  for (const [index, event] of user.pending.slice(0, bases.length).entries()) {
    const after = bases[index] as EventBase
    const head = { _id, 'pendingEvents.0.id': event.id }
    const live = await call((limit) =>
      users.updateOne(
        { ...head, erasedAt: { $exists: false } },
        { $pop: { pendingEvents: -1 }, $set: { eventBase: after } },
        limit,
      ),
    )
    if (live.matchedCount === 1) continue
    // Erased since the read: the base keeps its version only, never a user read before the erasure.
    const gone = await call((limit) =>
      users.updateOne(
        { ...head, erasedAt: { $exists: true } },
        { $pop: { pendingEvents: -1 }, $set: { 'eventBase.version': after.version } },
        limit,
      ),
    )
    if (gone.matchedCount === 1) erased = true
    else unknown = true // taken off before (a rerun, or the chunk's write): says nothing of the user now
  }
  // A change in between keeps its outboxSince, rightly.
  await call((limit) => users.updateOne({ _id, pendingEvents: { $size: 0 } }, { $unset: { outboxSince: '' } }, limit))
  if (erased || !unknown) return erased
  // Some event was taken off before: read whether the user is erased now.
  const now = await call((limit) => users.findOne({ _id }, { ...limit, projection: { erasedAt: 1 } }))
  return now?.erasedAt !== undefined
}

/**
 * The write taking all of `bases.length` events off `user` at once, matching only the outbox
 * exactly as read, in the same state (erased or not).
 */
function wholePop(user: OutboxUser, bases: readonly EventBase[]) {
  const count = bases.length
  const rest = user.pending.slice(count)
  const filter: Filter<UserDocument> = {
    _id: new ObjectId(user.id),
    ...outboxAsRead(user.pending),
    erasedAt: { $exists: user.erased },
  }
  const update: UpdateFilter<UserDocument> = {
    $set: { pendingEvents: rest, eventBase: bases[count - 1], ...(rest[0] ? { outboxSince: rest[0].occurredAt } : {}) },
    ...(rest.length === 0 ? { $unset: { outboxSince: '' as const } } : {}),
  }
  return { filter, update }
}

/** A stored user as the relay sees it; null for a user stored before events existed (it has nothing pending). */
function toOutboxUser(doc: UserDocument | null): OutboxUser | null {
  if (!doc?.eventBase) return null
  const erased = doc.erasedAt !== undefined
  return {
    id: doc._id.toHexString(),
    version: doc.version,
    erased,
    base: doc.eventBase,
    pending: doc.pendingEvents ?? [],
    ...(erased ? {} : { current: snapshotOf(doc) }),
  }
}
