import { ulid } from 'ulid'
import type { Filter, UpdateFilter } from '../db/driver'
import { toUser, type UserDocument } from './users.document'
import type { UserChanges } from './users.model'
import type { ChangeType, EventBase, OutboxEvent } from './users.outbox'
import type { User } from './users.schemas'

/**
 * The outbox inside the user document (docs/events.md): every change writes its event in the
 * same single-document write as the change, so there is no change without its event and no event
 * without its change, with no transaction. The relay (src/events/) copies pending events into the
 * `events` collection, replaying them from `eventBase`, and pops them off. Storage only: which
 * writes are changes is the service's; this module says how a change's event is stored.
 *
 * Server-only fields: `toUser` never maps them (FerretDB cannot project on findOneAndUpdate).
 */

export type OutboxFields = {
  /** Pending events, oldest first; appended by changes, popped by the relay. */
  pendingEvents?: OutboxEvent[]
  /** Absent only on a user stored before events existed (adopted on its first change). */
  eventBase?: EventBase
  /**
   * When the oldest pending event was written, or earlier (a pop of a user changed since the relay
   * read it leaves it as it was); absent when none is pending.
   */
  outboxSince?: Date
}

/** Set by an erase while it replaces the document: changes wait (see ERASE_HOLD_MS). */
export type EraseHold = { erasingAt?: Date }

/**
 * At this many pending events a change is refused (503): the relay is far behind, and a user
 * document must stay well under MongoDB's 16 MB. A pending update is at most ~17 KiB as JSON but
 * up to ~80 KiB as BSON (16 KiB of metadata `[0,0,...]` is 77 KiB: each element costs its index as
 * a key), so a full outbox of the worst metadata measured 7.7 MiB with the user and its base.
 */
export const OUTBOX_CAP = 100

/** A new event id: `evt_` and a ULID (the format of src/events/events.ids.ts, which users/ cannot import). */
export const newEventId = (at: Date): string => `evt_${ulid(at.getTime())}`

/**
 * How long an erase in progress holds changes off (users.lifecycle.writes.ts): it replaces the
 * document at the version it read, which changes landing in between would otherwise keep moving.
 * A hold left by an erase that stopped half way lapses after this.
 */
const ERASE_HOLD_MS = 60_000

/** Since when an erase's hold still holds: one set before this has lapsed. */
const holdsSince = (now: Date) => new Date(now.getTime() - ERASE_HOLD_MS)

/** Whether an erase holds this stored user's changes off now (what outboxOpen's filter refuses). */
export const heldForErase = (doc: EraseHold, now: Date): boolean => doc.erasingAt !== undefined && doc.erasingAt > holdsSince(now)

/** What every change's filter adds: a base to replay from, room in the outbox, and no erase in progress. */
export function outboxOpen(now: Date) {
  return {
    eventBase: { $exists: true },
    [`pendingEvents.${OUTBOX_CAP - 1}`]: { $exists: false },
    $nor: [{ erasingAt: { $gt: holdsSince(now) } }],
  } satisfies Filter<UserDocument>
}

/**
 * The filter matching an outbox exactly as read: the same first and last event and the same
 * length (events only leave at the front and join at the end, and ids are unique).
 */
export function outboxAsRead(pending: readonly OutboxEvent[]): Filter<UserDocument> {
  const n = pending.length
  if (n === 0) return { 'pendingEvents.0': { $exists: false } }
  return {
    'pendingEvents.0.id': pending[0]?.id,
    [`pendingEvents.${n - 1}.id`]: pending[n - 1]?.id,
    [`pendingEvents.${n}`]: { $exists: false },
  }
}

/** A time before any disable's end: mapped with it, a user shows its stored status and the disable's details. */
const BEFORE_ANY_EXPIRY = new Date(-8.64e15)

/**
 * The user a stored document holds, for events: the stored status (a disable that ran out is
 * judged at each event's own time, by the relay), and never `lastSignInAt` (a sign-in is not a
 * change, and an event's user is the user as that change left it).
 */
export function snapshotOf(doc: UserDocument): User {
  const { lastSignInAt: _notAChange, ...user } = toUser(doc, BEFORE_ANY_EXPIRY)
  return user
}

/** A new user's outbox: its user.created event, before which there was nothing. */
export function createdOutbox(doc: UserDocument, at: Date): Required<OutboxFields> {
  return {
    pendingEvents: [{ id: newEventId(at), type: 'user.created', occurredAt: at, user: snapshotOf(doc) }],
    eventBase: { version: 0 },
    outboxSince: at,
  }
}

/**
 * A change's event from the changes it writes: set and removed fields by API name, a password as
 * `passwordChanged` (and `passwordRemoved` when the change takes it away: SCIM's remove).
 */
export function changeEvent(type: ChangeType, at: Date, changes: UserChanges | Record<string, unknown> = {}): OutboxEvent {
  const set: Record<string, unknown> = {}
  const unset: string[] = []
  let passwordChanged = false
  let passwordRemoved = false
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) continue
    if (field === 'passwordHash') {
      passwordChanged = true
      passwordRemoved = value === null
    } else if (value === null) unset.push(field)
    else set[field] = value
  }
  return {
    id: newEventId(at),
    type,
    occurredAt: at,
    ...(Object.keys(set).length > 0 ? { set } : {}),
    ...(unset.length > 0 ? { unset } : {}),
    ...(passwordChanged ? { passwordChanged: true } : {}),
    ...(passwordRemoved ? { passwordRemoved: true } : {}),
  }
}

/** `update` with `event` pushed into the outbox in the same write. */
export function withEvent(update: UpdateFilter<UserDocument>, event: OutboxEvent): UpdateFilter<UserDocument> {
  return {
    ...update,
    $push: { pendingEvents: event },
    $min: { outboxSince: event.occurredAt },
  } as UpdateFilter<UserDocument>
}

/**
 * The outbox an erased user keeps: its pending events with ids, types and times only, the base's
 * version only, and `erased` last. Nothing personal stays, and every change still gets its event.
 */
export function erasedOutbox(doc: UserDocument, erased: OutboxEvent): Required<OutboxFields> {
  const pending = (doc.pendingEvents ?? []).map(({ id, type, occurredAt }) => ({ id, type, occurredAt }))
  return {
    pendingEvents: [...pending, erased],
    eventBase: { version: doc.eventBase?.version ?? doc.version },
    outboxSince: doc.outboxSince ?? erased.occurredAt,
  }
}
