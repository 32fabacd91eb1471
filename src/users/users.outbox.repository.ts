import { type Filter, ObjectId } from 'mongodb'
import type { DatabaseHandle } from '../db/calls'
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
  const listeners = new Set<(userId: string) => void>()

  const readOne = async (id: string) => toOutboxUser(await call((limit) => users.findOne({ _id: new ObjectId(id) }, limit)))

  return {
    notify(id) {
      for (const listener of listeners) listener(id)
    },
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },

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
      if (bases.length === 0) return
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
      if ((await call((limit) => users.updateOne(asRead, whole, limit))).matchedCount === 1) return
      // Changed since the read (a new change, an erasure): one event at a time, each named.
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
        // Erased since the read: the base keeps its version only, never a user read before the erasure.
        if (live.matchedCount === 0) {
          await call((limit) =>
            users.updateOne(
              { ...head, erasedAt: { $exists: true } },
              { $pop: { pendingEvents: -1 }, $set: { 'eventBase.version': after.version } },
              limit,
            ),
          )
        }
      }
      // A change in between keeps its outboxSince, rightly.
      await call((limit) => users.updateOne({ _id, pendingEvents: { $size: 0 } }, { $unset: { outboxSince: '' } }, limit))
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
