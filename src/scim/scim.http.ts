/**
 * The SCIM surface's HTTP pieces: its media type on every answer, its error answers (the domain
 * outcomes of src/errors.ts in SCIM's words: the SCIM counterpart of http/outcomes.ts), the body
 * gate of the routes that read one, and If-Match / If-None-Match with SCIM's weak entity tags.
 */
import type { Context, MiddlewareHandler } from 'hono'
import type { Conflict, Forbidden, NotFound, PreconditionFailed } from '../errors'
import { PRECONDITION_MAX_LENGTH, parsePrecondition } from '../http/etag'
import type { AppEnv } from '../http/types'
import { SCIM_MEDIA_TYPE, ScimError, type ScimType, scimErrorBody } from './scim.errors'
import { scimVersion } from './scim.resource'

/** Every SCIM answer is `application/scim+json` (RFC 7644 §3.1); Hono's `c.json` would say `application/json`. */
export const scimHeaders = (headers: Record<string, string> = {}) => ({ ...headers, 'Content-Type': SCIM_MEDIA_TYPE })

/** The error statuses a SCIM route may answer with. */
export type ScimErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 412 | 413 | 415 | 500 | 501 | 503

/** A SCIM `Error` answer. `detail` names attributes and rules, never a value the caller sent. */
export function scimError<S extends ScimErrorStatus>(
  c: Context,
  status: S,
  detail: string,
  scimType?: ScimType,
  headers: Record<string, string> = {},
) {
  return c.json(scimErrorBody(status, detail, scimType), status, scimHeaders(headers))
}

/** The SCIM names of the fields a uniqueness conflict can be on. */
const CONFLICT_ATTRIBUTES: Record<Conflict['field'], string> = {
  username: 'userName',
  email: 'email address (emails.value)',
  externalId: 'externalId',
}

type Refusal = NotFound | Conflict | PreconditionFailed | Forbidden
type StatusOf<O extends Refusal> = O extends NotFound ? 404 : O extends Conflict ? 409 : O extends PreconditionFailed ? 412 : 403

/**
 * The answer to a refusal of the users service, typed by the refusals it is given, so a handler
 * compiles only when its route declares every status its service call can refuse with.
 * `forbidden` cannot come from a caller with the administrative authority `scim` carries; it is
 * mapped all the same, so no outcome goes unanswered.
 */
export function scimRefused<O extends Refusal>(c: Context, outcome: O): ReturnType<typeof scimError<StatusOf<O>>> {
  return answer(c, outcome) as ReturnType<typeof scimError<StatusOf<O>>>
}

function answer(c: Context, outcome: Refusal) {
  switch (outcome.kind) {
    case 'not_found':
      return scimError(c, 404, 'No user has this id.')
    case 'conflict': {
      const attribute = CONFLICT_ATTRIBUTES[outcome.field]
      const how = outcome.field === 'externalId' ? 'exactly' : 'case-insensitively'
      return scimError(c, 409, `Another user already has this ${attribute} (compared ${how}).`, 'uniqueness')
    }
    case 'precondition_failed':
      return scimError(
        c,
        412,
        `The user is at version ${scimVersion(outcome.currentVersion)}; If-Match did not name it.`,
        undefined,
        {
          ETag: scimVersion(outcome.currentVersion),
        },
      )
    case 'forbidden':
      return scimError(c, 403, 'This change needs administrative authority.')
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
/** What SCIM clients send: SCIM's own media type, and plain JSON (Entra and Okta may send either). */
const BODY_TYPES = [SCIM_MEDIA_TYPE, 'application/json']

/**
 * For routes that read a body, ahead of validation: a SCIM or JSON media type (415 otherwise), and
 * valid UTF-8 (400 `invalidSyntax` otherwise, rather than storing U+FFFD for what was sent).
 * A malformed JSON body is answered by the router's error handler (index.ts).
 */
export function scimBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const essence = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase()
    if (!essence || !BODY_TYPES.includes(essence)) {
      return scimError(c, 415, `Send the body as ${SCIM_MEDIA_TYPE} or application/json.`)
    }
    // Outside the try: a body over the limit throws here, and the body limit answers 413.
    const bytes = await c.req.arrayBuffer()
    try {
      utf8.decode(bytes)
    } catch {
      return scimError(c, 400, 'The request body is not valid UTF-8.', 'invalidSyntax')
    }
    return next()
  }
}

/**
 * If-Match on SCIM (RFC 7644 §3.14): `*`, or the versions of the listed tags, weak or strong
 * (SCIM's versions are weak tags, `W/"3"`, compared weakly). Absent: undefined. A value that is no
 * list of entity tags is 400, never taken for "no precondition".
 */
export function readScimIfMatch(c: Context): 'any' | number[] | undefined {
  const precondition = readTags(c, 'If-Match')
  if (!precondition) return undefined
  return precondition.any ? 'any' : [...precondition.strong, ...precondition.weak]
}

/** If-None-Match on a GET: whether the caller's copy (any tag, weak or strong) is the current version. */
export function ifNoneMatchHits(c: Context, version: number): boolean {
  const precondition = readTags(c, 'If-None-Match')
  if (!precondition) return false
  return precondition.any || precondition.strong.includes(version) || precondition.weak.includes(version)
}

function readTags(c: Context, header: 'If-Match' | 'If-None-Match') {
  const value = c.req.header(header)
  if (value === undefined) return undefined
  const parsed = value.length <= PRECONDITION_MAX_LENGTH ? parsePrecondition(value) : null
  if (!parsed) throw new ScimError('invalidValue', `${header} must be * or a list of entity tags such as W/"3".`)
  return parsed
}
