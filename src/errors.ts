/**
 * Domain outcomes: what the core answers, in no surface's vocabulary (no status codes, headers or
 * problem codes). Each surface maps them to its own wire format in one module (/v1 and the
 * compatibility routes: src/http/outcomes.ts).
 *
 * One channel per kind of outcome, everywhere:
 * - **Returned** (a value with a `kind`): every answer about the users asked for — not found,
 *   conflict on a field, precondition failed, forbidden, and the successes. A function's return
 *   type lists exactly the outcomes it can give, and the compiler makes callers handle them.
 * - **Thrown** (a `DomainError`): the request cannot be answered as asked, whatever the users are —
 *   invalid input found below the schemas (`InvalidInputError`: a cursor, a merged metadata
 *   object) and `UnavailableError` (the database, a key set, too many lost races; a retry may
 *   succeed). Anything else thrown is a bug.
 */

/** The ways a user is named; not-found outcomes say which one found nothing. */
export type UserKey = 'id' | 'username' | 'email'

/** `deleted`: the operation looked for a deleted user only (a restore), and found none. */
export type NotFound = { kind: 'not_found'; by: UserKey; value: string; deleted?: true }

/** A unique field is taken by another user; `value` is the one asked for, as sent. */
export type Conflict = { kind: 'conflict'; field: 'username' | 'email' | 'externalId'; value: string }

/** The write named versions (If-Match) and the user is at another one. */
export type PreconditionFailed = { kind: 'precondition_failed'; currentVersion: number }

/**
 * The caller lacks the administrative authority the write needs: it creates a user with a role
 * other than `user` or not active (`create_privileged`), it sets a role or status
 * (`set_privileged_fields`), or its target has a role other than `user` or is disabled
 * (`privileged_target`); or it reads deleted users, restores or erases one (issue 15).
 */
export type Forbidden = {
  kind: 'forbidden'
  reason: 'create_privileged' | 'set_privileged_fields' | 'privileged_target' | LifecycleForbidden
}

/** Reading deleted users (`read_deleted`), restoring or erasing one (`lifecycle`): administrative only. */
type LifecycleForbidden = 'read_deleted' | 'lifecycle'

export const notFound = (by: UserKey, value: string, deleted?: 'deleted'): NotFound =>
  deleted ? { kind: 'not_found', by, value, deleted: true } : { kind: 'not_found', by, value }
export const conflict = (field: Conflict['field'], value: string): Conflict => ({ kind: 'conflict', field, value })
export const preconditionFailed = (currentVersion: number): PreconditionFailed => ({
  kind: 'precondition_failed',
  currentVersion,
})
export const forbidden = (reason: Forbidden['reason']): Forbidden => ({ kind: 'forbidden', reason })

/** An If-Match as the services take it (src/http/etag.ts reads it): `any` for `*`, else the versions it names. */
export type VersionMatch = 'any' | readonly number[]

/** The refusal of a write whose If-Match does not name `version` (strong comparison); null when it may go on. */
export function unmatched(ifMatch: VersionMatch | undefined, version: number): PreconditionFailed | null {
  return ifMatch && ifMatch !== 'any' && !ifMatch.includes(version) ? preconditionFailed(version) : null
}

/** Base of the thrown outcomes; `message` is safe to show a caller (never a secret or a driver internal). */
export abstract class DomainError extends Error {}

/** One reason an input is refused: the field it is about, a stable code, and a sentence. */
export type InputIssue = { field: string; code: string; message: string }

/** Input the schemas could not judge alone (a cursor, metadata merged with what is stored). */
export class InvalidInputError extends DomainError {
  constructor(
    /** A sentence about the whole input, e.g. "The cursor is not a cursor this service issued." */
    message: string,
    readonly issues: [InputIssue, ...InputIssue[]],
  ) {
    super(message)
    this.name = 'InvalidInputError'
  }
}

/** The work could not be done now; retrying after `retryAfterSeconds` may succeed. */
export class UnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message)
    this.name = 'UnavailableError'
  }
}
