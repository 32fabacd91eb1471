import type { Context } from 'hono'
import {
  type Conflict,
  type Forbidden,
  type NotFound,
  type PreconditionFailed,
  UnavailableError,
  unmatched,
  type VersionMatch,
} from '../errors'
import type { Handler } from '../http/handler'
import type { AppEnv } from '../http/types'
import type { StoredQuery, StoredQueryTerms } from '../users/users.model'
import type { User } from '../users/users.schemas'
import type { Authority, UsersService, WriteOptions } from '../users/users.service'
import { FILTER_MAX_LENGTH, MAX_RESULTS } from './scim.discovery'
import { type FilterNode, parseFilter } from './scim.filter'
import { ifNoneMatchHits, readScimIfMatch, scimError, scimHeaders, scimRefused } from './scim.http'
import { createInput, patchInput, replaceInput } from './scim.input'
import { applyUserPatch, type PatchOperation, parsePatchRequest } from './scim.patch'
import { type Projection, project, readProjection } from './scim.projection'
import { scimUserQuery } from './scim.query'
import { readUserResource, SCIM_BASE, scimVersion, stateOf, toScimUser } from './scim.resource'
import type * as routes from './scim.routes'
import { SCIM_LIST_RESPONSE_SCHEMA } from './scim.schema'

/**
 * The /Users handlers: SCIM in, users service calls, SCIM out. On /scim/v2 the scope `scim`
 * carries the administrative authority (API.md): an identity provider must be able to change,
 * disable and deprovision anyone, administrators included.
 */
const AUTHORITY: Authority = { admin: true }

/**
 * Rounds of a PATCH that keeps losing races to other writers before 503. One writer wins each
 * round, so N at once finish within N rounds: as the users service's own bound (at 20, thirty
 * concurrent PATCHes of one user got 503s).
 */
const MAX_PATCH_ATTEMPTS = 50

const ID = /^[0-9a-f]{24}$/

export function createScimUsersHandlers(users: UsersService) {
  const listUsers: Handler<typeof routes.listUsers> = async (c) => {
    const query = c.req.valid('query')
    const projection = readProjection(query)
    const filter = query.filter === undefined ? undefined : parseFilter(query.filter, { maxLength: FILTER_MAX_LENGTH })
    // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count 0; more than the maximum is the maximum.
    const startIndex = clamp(query.startIndex, 1, 1, 2 ** 31 - 1)
    const count = clamp(query.count, MAX_RESULTS, 0, MAX_RESULTS)
    const page = await users.findByQuery((terms) => toScimUserQuery(filter, terms), { offset: startIndex - 1, limit: count })
    const body = {
      schemas: [SCIM_LIST_RESPONSE_SCHEMA],
      totalResults: page.total,
      startIndex,
      itemsPerPage: page.items.length,
      Resources: page.items.map((user) => project(toScimUser(user), projection)),
    }
    return c.json(body, 200, scimHeaders())
  }

  const createUser: Handler<typeof routes.createUser> = async (c) => {
    const projection = readProjection(c.req.valid('query'))
    const input = createInput(readUserResource(c.req.valid('json')))
    const outcome = await users.create(input, AUTHORITY)
    if (outcome.kind !== 'created') return scimRefused(c, outcome)
    return respond(c, outcome.user, 201, projection, { Location: `${SCIM_BASE}/Users/${outcome.user.id}` })
  }

  const getUser: Handler<typeof routes.getUser> = async (c) => {
    const { id } = c.req.valid('param')
    const projection = readProjection(c.req.valid('query'))
    const found = ID.test(id) ? await users.get({ by: 'id', value: id }) : null
    if (found === null || 'kind' in found) return scimError(c, 404, 'No user has this id.')
    if (ifNoneMatchHits(c, found.version)) return c.body(null, 304, { ETag: scimVersion(found.version) })
    return respond(c, found, 200, projection)
  }

  const replaceUser: Handler<typeof routes.replaceUser> = async (c) => {
    const { id } = c.req.valid('param')
    const projection = readProjection(c.req.valid('query'))
    const input = replaceInput(readUserResource(c.req.valid('json')))
    const options = writeOptions(c)
    if (!ID.test(id)) return scimError(c, 404, 'No user has this id.')
    const outcome = await users.update({ by: 'id', value: id }, input, options)
    if (outcome.kind !== 'updated' && outcome.kind !== 'unchanged') return scimRefused(c, outcome)
    return respond(c, outcome.user, 200, projection)
  }

  const patchUser: Handler<typeof routes.patchUser> = async (c) => {
    const { id } = c.req.valid('param')
    const projection = readProjection(c.req.valid('query'))
    // The message is checked whole before anything is read: a malformed PATCH never costs a read.
    const operations = parsePatchRequest(c.req.valid('json'))
    const ifMatch = readScimIfMatch(c)
    if (!ID.test(id)) return scimError(c, 404, 'No user has this id.')
    const outcome = await patch(users, id, operations, ifMatch)
    if ('kind' in outcome) return scimRefused(c, outcome)
    return respond(c, outcome, 200, projection)
  }

  const deleteUser: Handler<typeof routes.deleteUser> = async (c) => {
    const { id } = c.req.valid('param')
    const options = writeOptions(c)
    if (!ID.test(id)) return scimError(c, 404, 'No user has this id.')
    const outcome = await users.delete({ by: 'id', value: id }, options)
    if (outcome.kind !== 'deleted') return scimRefused(c, outcome)
    return c.body(null, 204)
  }

  return { listUsers, createUser, getUser, replaceUser, patchUser, deleteUser }
}

/**
 * PATCH: the operations applied to the user as read, and the result written only at the version
 * read (the service's version guard); a lost race goes round again from a fresh read, which meets
 * the caller's If-Match again. Operations that change nothing stored write nothing.
 */
async function patch(
  users: UsersService,
  id: string,
  operations: PatchOperation[],
  ifMatch: VersionMatch | undefined,
): Promise<User | NotFound | Conflict | PreconditionFailed | Forbidden> {
  const ref = { by: 'id', value: id } as const
  for (let attempt = 1; attempt <= MAX_PATCH_ATTEMPTS; attempt++) {
    const current = await users.get(ref)
    if ('kind' in current) return current
    const refused = unmatched(ifMatch, current.version)
    if (refused) return refused
    const input = patchInput(applyUserPatch(stateOf(current), operations))
    if (Object.keys(input).length === 0) return current
    const outcome = await users.update(ref, input, { authority: AUTHORITY, ifMatch: [current.version] })
    if (outcome.kind === 'updated' || outcome.kind === 'unchanged') return outcome.user
    if (outcome.kind !== 'precondition_failed') return outcome
  }
  throw new UnavailableError('The user is being changed by many requests at once; retry shortly.', 1)
}

function writeOptions(c: Context<AppEnv>): WriteOptions {
  const ifMatch = readScimIfMatch(c)
  return { authority: AUTHORITY, ...(ifMatch !== undefined ? { ifMatch } : {}) }
}

/** The user in SCIM, with its version as the ETag. */
function respond<S extends 200 | 201>(
  c: Context<AppEnv>,
  user: User,
  status: S,
  projection: Projection,
  headers: Record<string, string> = {},
) {
  return c.json(project(toScimUser(user), projection), status, scimHeaders({ ...headers, ETag: scimVersion(user.version) }))
}

/** An integer parameter (digits, checked by the route), brought within bounds; `fallback` when absent. */
function clamp(value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  return Math.min(max, Math.max(min, Number(value)))
}

/**
 * A filter as one query in the storage's terms: its stored keys, and its own rules for an id and
 * for the status a user has now (a disable that has run out is active). No filter: every user.
 */
function toScimUserQuery(filter: FilterNode | undefined, terms: StoredQueryTerms): StoredQuery | 'none' {
  if (filter === undefined) return {}
  const translated = scimUserQuery(filter, {
    userName: terms.fields.usernameKey,
    email: terms.fields.emailKey,
    externalId: terms.fields.externalIdKey,
    displayName: terms.fields.displayName,
    id: terms.id,
    active: (active) => terms.status(active ? 'active' : 'disabled'),
  })
  if (translated.matches === 'none') return 'none'
  return translated.matches === 'all' ? {} : translated.query
}
