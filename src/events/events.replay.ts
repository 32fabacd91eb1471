import { isDeepStrictEqual } from 'node:util'
import type { EventBase, OutboxEvent, OutboxUser } from '../users/users.outbox'
import type { User } from '../users/users.schemas'
import type { ChangeEvent } from './events.schemas'

/**
 * Rebuilds whole events from a user's outbox (docs/events.md, "Snapshots replayed from
 * eventBase"). A change written in one blind round trip (the fast PATCH, a delete) does not know
 * the user it wrote, so its event records only what it set; the relay replays the pending events
 * in order from the base (the user before the first of them) and gets the user after each one.
 * Deterministic: the same base and the same pending events give the same events, which is what
 * lets any relay rebuild a batch another one recorded.
 */

/** One pending event replayed: the event as the feed shows it (without its sequence), and the base it leaves. */
export type ReplayedEvent = {
  source: OutboxEvent
  event: Omit<ChangeEvent, 'sequence'>
  /** The base once this event is taken off the outbox: its version and (not for an erased user) the user. */
  after: EventBase
}

export type Replay = { events: ReplayedEvent[]; final: EventBase }

/** Fields that are not changes to list in `changed`: every change moves them. */
const NOT_CHANGES = new Set(['version', 'updatedAt', 'lastSignInAt'])

/** Replays `user.pending` from `user.base`. An erased user's events keep ids only (`data: {}`). */
export function replay(user: OutboxUser): Replay {
  let state: EventBase = user.base
  const events: ReplayedEvent[] = []
  for (const source of user.pending) {
    const before = state
    state = apply(state, source)
    events.push({ source, event: toEvent(user, source, before, state), after: state })
  }
  return { events, final: state }
}

/**
 * Whether a replay reached the user as stored: the same version, and (not erased) the same user.
 * A mismatch is a bug or a write that bypassed the outbox: its events are not published.
 */
export function reachesStored(user: OutboxUser, final: EventBase): boolean {
  if (final.version !== user.version) return false
  return user.erased || (final.user !== undefined && isDeepStrictEqual(final.user, user.current))
}

/** The state after one event. */
function apply(state: EventBase, event: OutboxEvent): EventBase {
  if (event.type === 'user.created') return event.user ? { version: event.user.version, user: event.user } : { version: 1 }
  const version = state.version + 1
  if (event.type === 'user.erased' || state.user === undefined) return { version }
  const user: Record<string, unknown> = { ...state.user, ...event.set }
  for (const field of event.unset ?? []) delete user[field]
  if (event.passwordChanged) user.hasPassword = event.passwordRemoved !== true
  user.updatedAt = event.occurredAt.toISOString()
  user.version = version
  return { version, user: user as User }
}

/** The event as the feed and the webhooks show it. */
function toEvent(user: OutboxUser, source: OutboxEvent, before: EventBase, after: EventBase): Omit<ChangeEvent, 'sequence'> {
  const common = {
    id: source.id,
    occurredAt: source.occurredAt.toISOString(),
    userId: user.id,
    userVersion: after.version,
  }
  if (user.erased || after.user === undefined || source.type === 'user.erased') {
    return { ...common, type: source.type, data: {} } as Omit<ChangeEvent, 'sequence'>
  }
  const shown = asOf(after.user, source.occurredAt)
  if (source.type !== 'user.updated') return { ...common, type: source.type, data: { user: shown } }
  const changed = changedFields(before.user && asOf(before.user, source.occurredAt), shown)
  if (source.passwordChanged) changed.push('password')
  return { ...common, type: 'user.updated', data: { user: shown, changed } }
}

/** The user as a read at `at` would show it: a disable that has run out by then is active. */
function asOf(user: User, at: Date): User {
  if (user.status !== 'disabled' || user.disabledUntil === undefined) return user
  if (Date.parse(user.disabledUntil) > at.getTime()) return user
  const { disabledUntil: _until, disabledReason: _reason, ...active } = user
  return { ...active, status: 'active' }
}

/** Top-level fields whose value differs, in the order the user lists them, then those removed. */
function changedFields(before: User | undefined, after: User): string[] {
  if (before === undefined) return []
  const was = before as Record<string, unknown>
  const now = after as Record<string, unknown>
  const fields = [...Object.keys(now), ...Object.keys(was).filter((field) => !(field in now))]
  return fields.filter((field) => !NOT_CHANGES.has(field) && !isDeepStrictEqual(was[field], now[field]))
}
