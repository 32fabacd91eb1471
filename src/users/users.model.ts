import type { Conflict } from '../errors'
import type { JsonObject } from './users.metadata'
import type { ListUsersQuery, User } from './users.schemas'

/**
 * What the users service needs from storage, in the API's own types (string ids, ISO dates). It
 * is storage only: every rule (who may write what, what counts as a change, hashing) is the
 * service's, which decides and then asks for exactly the write it wants. No driver type reaches
 * these signatures, the app's or the client's declarations; users.repository.ts implements them
 * on MongoDB.
 */
export interface UsersRepository {
  /** Creates the indexes the repository relies on; idempotent, called at startup. */
  ensureIndexes(): Promise<void>
  findById(id: string): Promise<User | null>
  findByUsername(username: string): Promise<User | null>
  findByEmail(email: string): Promise<User | null>
  /**
   * The user a login names, with the password hash: for checking credentials only. The hash must
   * never reach a response or a log. A login with `@` names the user with that email if there is
   * one, else the user with that username; any other login names a username (any case, both).
   */
  findCredentials(login: string): Promise<{ user: User; passwordHash: string | undefined } | null>
  /**
   * Records a successful sign-in: `lastSignInAt`, and a new hash in place of `rehash.from` if the
   * user still has that one (a password changed meanwhile wins). Not a change: no version, no
   * updatedAt. One write; a second only when the rehash lost to such a change.
   */
  recordSignIn(id: string, signIn: { at?: string; rehash?: { from: string; to: string } }): Promise<void>
  /**
   * Which of these values another user (not `exceptId`) already holds, compared as the unique
   * indexes compare them; the username when both are. A hint only: the indexes decide races.
   */
  findTaken(values: { username?: string; email?: string; externalId?: string }, exceptId?: string): Promise<Conflict | null>
  /**
   * A page of users. `query.cursor` is decoded and `nextCursor` encoded here (users.pagination.ts);
   * a cursor this service did not issue for the same filters and sort throws InvalidInputError.
   */
  list(query: ListUsersQuery): Promise<UserPage>
  /**
   * Live users matching one query that a surface with a filter language of its own (SCIM) writes
   * with `build` from the storage's `terms` (at the repository's clock), ordered by creation time
   * then id, `page.limit` from `page.offset`: one find, and one count only when the page cannot
   * tell the total (so a lookup that finds at most one user is one query). `'none'`: nobody can
   * match, and nothing is asked.
   */
  findByQuery(
    build: (terms: StoredQueryTerms) => StoredQuery | 'none',
    page: QueryPage,
  ): Promise<{ items: User[]; total: number }>
  /** Inserts a new user; a taken username or email is a conflict (the unique indexes decide). */
  create(user: NewUser): Promise<Written>
  /**
   * The common PATCH in one round trip: writes `fields` only when the user meets `guard` and at
   * least one field differs from what is stored (so an unchanged user keeps its version), and
   * `alongside` with them (what a change implies, not compared: a status clears the disable's
   * details). A status is compared as it is now (a run-out disable is active).
   * `not_written` does not say why: the caller reads to find out.
   */
  updateInPlace(
    id: string,
    fields: PlainChanges,
    guard: WriteGuard,
    alongside?: PlainChanges,
  ): Promise<Written | { kind: 'not_written' }>
  /** Writes `changes` only if the user is still at `version`; `stale` when it is not (or is gone). */
  updateAtVersion(id: string, version: number, changes: UserChanges): Promise<Written | { kind: 'stale' }>
  /** Deletes the user for good if it meets `guard` (USER_RETENTION_DAYS=0); false when nothing was deleted. */
  delete(id: string, guard: WriteGuard): Promise<boolean>
  /** The user even if deleted (then with `deletedAt` and `purgeAt`); null when unknown, erased or past its purge. */
  findAnyById(id: string): Promise<User | null>
  /**
   * Deletes the user if it meets `guard`, keeping it `retentionMs` for a restore: one write that
   * releases its username and email. False when nothing was deleted (the caller reads to find out why).
   */
  softDelete(id: string, guard: WriteGuard, retentionMs: number): Promise<boolean>
  /**
   * Makes a deleted user (as read: `user.version`) live again, taking its username and email back
   * (a conflict if another user holds one now: the unique indexes decide); `stale` when it is no
   * longer that deleted user (changed, restored, erased or purged since).
   */
  restore(user: User): Promise<Written | { kind: 'stale' }>
  /**
   * Replaces the user (live or deleted) by a tombstone without any personal value, keeping its
   * pending events with ids only and adding user.erased; purged after `retentionMs` (or, deleted,
   * when it was due; with 0 at once, once its events are relayed). Changes are held off from its
   * first write; `whileHeld` then sees the user as held (frozen) and may say no (nothing erased).
   * False when it said no, or the user's username or email is no longer `user`'s (or it is gone).
   */
  erase(user: User, retentionMs: number, whileHeld?: (held: User) => Promise<boolean>): Promise<boolean>
  /** Deletes deleted and erased users whose `purgeAt` has passed; returns how many. */
  purge(): Promise<number>
  /** Whether a user with this id exists (a point read on `_id`). */
  exists(id: string): Promise<boolean>
  /** Inserts imported users with their own ids and creation times, never overwriting; one outcome each, in order. */
  insertImported(users: ImportedUser[]): Promise<ImportOutcome[]>
  /** What insertImported would answer, read-only. */
  previewImported(users: ImportedUser[]): Promise<ImportOutcome[]>
}

/** A user to store: the service has applied defaults and hashed the password. */
export type NewUser = {
  username: string
  email: string
  displayName?: string
  metadata: JsonObject
  role: User['role']
  status: User['status']
  passwordHash?: string
} & NewProfile

/** The v1.1 fields of a new user (API.md "User: new fields"); emailVerified defaults to false. */
export type NewProfile = {
  emailVerified?: boolean
  givenName?: string
  familyName?: string
  externalId?: string
  /** ISO time; only with status `disabled`. */
  disabledUntil?: string
  disabledReason?: string
}

export type UserPage = { items: User[]; nextCursor: string | null; total?: number }

/** A query on stored users, written from StoredQueryTerms; the not-deleted condition is the storage's to add. */
export type StoredQuery = { [field: string]: unknown }

/**
 * What a surface needs to write a query on stored users without knowing the driver: the names of
 * the stored fields a filter compares (the unique keys are lower-cased, the externalId key exact,
 * displayName as sent), and the conditions only storage can write.
 */
export type StoredQueryTerms = {
  fields: { usernameKey: string; emailKey: string; externalIdKey: string; displayName: string }
  /** The user with this id (24 lower-case hex digits). */
  id(hex: string): StoredQuery
  /** Users whose status is `status` now: a disable that has run out is active (users.disabled.document.ts). */
  status(status: User['status']): StoredQuery
}

/** A window of a result in a stable order: `limit` items (0: the total only) after the first `offset`. */
export type QueryPage = { offset: number; limit: number }

/** New values for the fields a write changes. `null` removes a field (displayName, the removable v1.1 fields, the password hash). */
export type UserChanges = {
  username?: string
  email?: string
  displayName?: string | null
  metadata?: JsonObject
  role?: User['role']
  status?: User['status']
  passwordHash?: string | null
} & ProfileChanges

export type ProfileChanges = {
  emailVerified?: boolean
  givenName?: string | null
  familyName?: string | null
  externalId?: string | null
  disabledUntil?: string | null
  disabledReason?: string | null
}

/** The fields an in-place write may set: no metadata (its merge needs the stored value) and no hash. */
export type PlainChanges = Omit<UserChanges, 'metadata' | 'passwordHash'>

/**
 * Conditions the stored user must meet for a write to happen: one of `versions`, this role and
 * status, and still this `username` (any case) when the request named the user by it.
 */
export type WriteGuard = { versions?: readonly number[]; role?: User['role']; status?: User['status']; username?: string }

export type Written = { kind: 'written'; user: User } | Conflict

/** A user from another system, with the id and creation time it keeps here. */
export type ImportedUser = { id: string; createdAt: Date; user: NewUser }

export type ImportOutcome =
  | { kind: 'imported' }
  /** A user with this id is already there: this import (or an earlier run of it) put it there. */
  | { kind: 'already_imported' }
  | { kind: 'conflict'; field: 'username' | 'email'; otherId: string }
