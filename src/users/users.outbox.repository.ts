import { type Filter, ObjectId } from 'mongodb'
import type { DatabaseHandle } from '../db/calls'
import { createListeners } from '../listeners'
import { USERS_COLLECTION, type UserDocument } from './users.document'
import type { EventBase, OutboxUser, UsersOutbox } from './users.outbox'
import { outboxAsRead, snapshotOf } from './users.outbox.document'

/**
 * The outbox's side for the relay (docs/events.md, "The relay"): finding users with pending
 * events and taking relayed events off them. Every write is guarded so that running it again, or
 * by a relay that lost its lease while paused, changes nothing: it names the events it takes.
 */
export function createUsersOutbox(database: DatabaseHandle): UsersOutbox & { notify(id: string): void } {
  const { call } = database
  const users = database.db.collection<UserDocument>(USERS_COLLECTION)
  const changes = createListeners<[userId: string]>()

  const readOne = async (id: string) => toOutboxUser(await call((limit) => users.findOne({ _id: new ObjectId(id) }, limit)))

  return {
    notify: changes.notify,
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

    async pop(user, bases) {
      if (bases.length === 0) return user.erased
      const _id = new ObjectId(user.id)
      const count = bases.length
      const rest = user.pending.slice(count)
      const base = bases[count - 1] as EventBase
      // The outbox exactly as read, in the same state (erased or not): one write takes them all.
      const asRead = { _id, ...outboxAsRead(user.pending), erasedAt: { $exists: user.erased } }
      const whole = {
        $set: { pendingEvents: rest, eventBase: base, ...(rest[0] ? { outboxSince: rest[0].occurredAt } : {}) },
        ...(rest.length === 0 ? { $unset: { outboxSince: '' as const } } : {}),
      }
      if ((await call((limit) => users.updateOne(asRead, whole, limit))).matchedCount === 1) return user.erased
      // Changed since the read (a new change, an erasure): one event at a time, each named.
      let erased = false
      let unknown = false
      for (const [index, event] of user.pending.slice(0, count).entries()) {
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
        else unknown = true // taken off before (a rerun): says nothing of the user now
      }
      // A change in between keeps its outboxSince, rightly.
      await call((limit) => users.updateOne({ _id, pendingEvents: { $size: 0 } }, { $unset: { outboxSince: '' } }, limit))
      if (erased || !unknown) return erased
      // Some event was taken off before (a rerun): read whether the user is erased now.
      const now = await call((limit) => users.findOne({ _id }, { ...limit, projection: { erasedAt: 1 } }))
      return now?.erasedAt !== undefined
    },
  }
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
