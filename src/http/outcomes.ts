import type { Context, ErrorHandler } from 'hono'
import {
  type Conflict,
  type Forbidden,
  InvalidInputError,
  type NotFound,
  type PreconditionFailed,
  UnavailableError,
} from '../errors'
import { insufficientScope } from './challenge'
import { toEtag } from './etag'
import { type ProblemCode, problem, type ValidationIssue } from './problem'
import type { AppEnv } from './types'

/**
 * The one place where domain outcomes (src/errors.ts) become problem+json, for /v1 and the
 * compatibility routes alike: the same outcome always gets the same status, code and headers.
 * A new surface with its own error format (SCIM) writes its own mapper next to its routes.
 */

/** A returned outcome that refuses the request. */
export type Refusal = NotFound | Conflict | PreconditionFailed | Forbidden

const CONFLICT_CODES = {
  username: 'username_taken',
  email: 'email_taken',
  externalId: 'external_id_taken',
} as const satisfies Record<Conflict['field'], ProblemCode>

type CodeOf<O extends Refusal> = O extends NotFound
  ? 'user_not_found'
  : O extends Conflict
    ? (typeof CONFLICT_CODES)[O['field']]
    : O extends PreconditionFailed
      ? 'precondition_failed'
      : 'forbidden'

/**
 * The words that differ between surfaces: the compatibility routes call the status `is_active`
 * and have none of the other fields only `users:admin` may set.
 */
export type Vocabulary = { status: string; notActive: string; adminFields: string }
const V1_VOCABULARY: Vocabulary = {
  status: 'status',
  notActive: "a status other than 'active'",
  adminFields: 'role, status, disabledUntil, disabledReason or passwordHash',
}

/**
 * The problem answering a refusal. Typed by the refusals it can be given, so a handler compiles
 * only when its route declares every status its service call can refuse with.
 */
export function refused<O extends Refusal>(
  c: Context,
  outcome: O,
  vocabulary: Vocabulary = V1_VOCABULARY,
): ReturnType<typeof problem<CodeOf<O>>> {
  return respond(c, outcome, vocabulary) as ReturnType<typeof problem<CodeOf<O>>>
}

function respond(c: Context, outcome: Refusal, vocabulary: Vocabulary) {
  switch (outcome.kind) {
    case 'not_found':
      return problem(c, 'user_not_found', `No ${outcome.deleted ? 'deleted ' : ''}user has ${outcome.by} '${outcome.value}'.`)
    case 'conflict': {
      const code = CONFLICT_CODES[outcome.field]
      // An externalId is compared exactly; usernames and emails case-insensitively.
      const how = outcome.field === 'externalId' ? '' : ' (case-insensitively)'
      return problem(c, code, `A user with ${outcome.field} '${outcome.value}' already exists.`, {
        errors: [{ location: 'body', pointer: `/${outcome.field}`, code, message: `is already taken${how}` }],
      })
    }
    case 'precondition_failed':
      return problem(c, 'precondition_failed', `The user is at version ${outcome.currentVersion}; If-Match did not name it.`, {
        headers: { ETag: toEtag(outcome.currentVersion) },
      })
    case 'forbidden':
      // Every refusal of the service's own is for want of users:admin: RFC 6750's challenge says which scope.
      return problem(c, 'forbidden', forbiddenDetail(outcome, vocabulary), {
        headers: { 'WWW-Authenticate': insufficientScope('users:admin') },
      })
  }
}

function forbiddenDetail(outcome: Forbidden, { notActive, adminFields }: Vocabulary): string {
  const needs = "needs the scope 'users:admin'"
  switch (outcome.reason) {
    case 'create_privileged':
      return `Creating a user with a role other than 'user' or ${notActive} ${needs}.`
    case 'set_privileged_fields':
      return `Setting ${adminFields} ${needs}.`
    case 'privileged_target':
      return `Changing or deleting a user with a role other than 'user' or ${notActive} ${needs}.`
    case 'read_deleted':
      return `Reading deleted users ${needs}.`
    case 'lifecycle':
      return `Restoring or erasing a user ${needs}.`
  }
}

/** Where each field an InvalidInputError can name was sent; anything else is in the body. */
const LOCATIONS: Record<string, ValidationIssue['location']> = { cursor: 'query' }

/**
 * Wraps the app's error handler: the thrown domain outcomes (invalid input, unavailable) become
 * their problems here; everything else goes on to `next`.
 */
export function handleDomainErrors(next: ErrorHandler<AppEnv>): ErrorHandler<AppEnv> {
  return (error, c) => {
    if (error instanceof InvalidInputError) {
      const errors = error.issues.map(({ field, code, message }) => ({
        location: LOCATIONS[field] ?? 'body',
        pointer: `/${field}`,
        code,
        message,
      }))
      return problem(c, 'validation_failed', error.message, { errors })
    }
    if (error instanceof UnavailableError) {
      return problem(c, 'service_unavailable' satisfies ProblemCode, error.message, {
        headers: { 'Retry-After': String(error.retryAfterSeconds) },
      })
    }
    return next(error, c)
  }
}
