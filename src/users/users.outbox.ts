import type { User } from './users.schemas'

/**
 * The outbox as the relay (src/events/) sees it: storage-free types and the interface of the
 * users storage it moves events out of. The stored shape and the writes are in
 * users.outbox.document.ts and users.outbox.repository.ts; docs/events.md has the design.
 */

export const CHANGE_TYPES = ['user.created', 'user.updated', 'user.deleted', 'user.restored', 'user.erased'] as const
export type ChangeType = (typeof CHANGE_TYPES)[number]

/**
 * A change waiting in the outbox, as the write that made it recorded it. `user.created` carries
 * the user as created; the others the fields they set and removed, as the API names them, with
 * their new values (never a hash: `passwordChanged` says a password was set, or removed when
 * `passwordRemoved` says so too). An erased user's elements keep only id, type and time.
 */
export type OutboxEvent = {
  id: string
  type: ChangeType
  occurredAt: Date
  user?: User
  set?: Record<string, unknown>
  unset?: string[]
  passwordChanged?: true
  passwordRemoved?: true
}

/** The user before the first pending event: its version, and (not for an erased user) the user then. */
export type EventBase = { version: number; user?: User }

/** One user's outbox as read by the relay. */
export type OutboxUser = {
  id: string
  /** The stored version: the version the last pending event leaves the user at. */
  version: number
  /** Erased: a tombstone, whose pending events keep ids only. */
  erased: boolean
  base: EventBase
  pending: OutboxEvent[]
  /** The user as stored now (not for an erased user), as an event would show it: what a replay must reach. */
  current?: User
}

/**
 * A user's outbox as the write of a change left it (the document it wrote, or got back), with when
 * that write was sent (`performance.now()`, taken before sending) and the version it wrote. The
 * relay plans from it instead of reading the user again when it knows that no pop of that user was
 * applied after the write (docs/events.md, "Planning from the write's own copy").
 */
export type OutboxCopy = { version: number; sentAt: number; user: () => OutboxUser | null }

/** One user's relayed events to take off its outbox: as many as `bases`, each with the base it leaves. */
export type OutboxPop = { user: OutboxUser; bases: readonly EventBase[] }

/** What the relay needs from the users storage. */
export interface UsersOutbox {
  /** Users with pending events, the oldest outbox first, at most `limit`, none of `skip`. */
  pending(limit: number, skip: readonly string[]): Promise<OutboxUser[]>
  /** These users' outboxes as stored now (unknown ids and users without a base left out), in one read each. */
  read(ids: readonly string[]): Promise<OutboxUser[]>
  /**
   * Takes each pop's events off its user: the first `bases.length` pending events (as read), where
   * `bases[i]` is the base once event i is gone. A few users per write: one write for all of them
   * when none changed since the read, otherwise one guarded write per event of each. Never takes
   * an event it was not given: a rerun changes nothing. Resolves, pop by pop, to whether the user
   * is erased: as read, or found erased by the pop (an erase since the read, whose scrub may have
   * run before the relay inserted events built from the user).
   */
  pop(pops: readonly OutboxPop[]): Promise<boolean[]>
  /**
   * Calls `listener` with the id of each user a change was written to by this process (a hint: the
   * relay looks at once), with the write's copy of the user when the write had the whole document.
   */
  onChange(listener: (userId: string, copy?: OutboxCopy) => void): () => void
}
