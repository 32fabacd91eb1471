import { createRoute, z } from '@hono/zod-openapi'
import { PRECONDITION_MAX_LENGTH, PRECONDITION_PATTERN } from '../http/etag'
import { FILTER_MAX_LENGTH } from './scim.discovery'
import { SCIM_MEDIA_TYPE } from './scim.errors'
import type { ScimErrorStatus } from './scim.http'
import { scimBody } from './scim.http'
import { ATTRIBUTE_LIST_MAX_LENGTH, ATTRIBUTE_LIST_PATTERN } from './scim.projection'
import {
  ScimErrorSchema,
  ScimPatchOpSchema,
  ScimResourceTypeListSchema,
  ScimResourceTypeSchema,
  ScimSchemaListSchema,
  ScimSchemaSchema,
  ScimServiceProviderConfigSchema,
  ScimUserInputSchema,
  ScimUserListSchema,
  ScimUserSchema,
} from './scim.schemas'

/**
 * The /scim/v2 routes (RFC 7644), paths relative to the mount point. Every status a route can
 * answer is declared, in SCIM's media type. The gate in front of them (index.ts) authenticates
 * (scope `scim`) and answers every other error of the path in SCIM's format: 405 for another
 * method, 404 for an unknown URL, 413 for a body over the limit.
 */

const tags = ['scim']
const security = [{ bearerAuth: ['scim'] }]

const DESCRIPTIONS: Record<ScimErrorStatus, string> = {
  400: 'invalidFilter, invalidSyntax, invalidPath, invalidValue, noTarget or mutability (the `scimType` says which).',
  401: 'No bearer token, or not a valid one (WWW-Authenticate says why).',
  403: "The token does not hold the scope 'scim'.",
  404: 'No such user (unknown, deleted, or not an id of this service).',
  405: 'The method is not allowed here (Allow lists those that are).',
  409: '`uniqueness`: another user has this userName, email or externalId.',
  412: 'If-Match does not name the current version (ETag carries it).',
  413: 'The body exceeds the configured limit.',
  415: 'The body is not application/scim+json or application/json.',
  500: 'An unexpected error; quote the X-Request-Id when reporting it.',
  501: 'Not offered by this service provider.',
  503: 'The database is unavailable or the user is changing too fast; retry after Retry-After seconds.',
}

/** SCIM Error responses for these statuses, keyed so that a handler's type knows each. */
function errors<const S extends readonly ScimErrorStatus[]>(...statuses: S) {
  const error = (status: ScimErrorStatus) => ({
    description: DESCRIPTIONS[status],
    content: { [SCIM_MEDIA_TYPE]: { schema: ScimErrorSchema } } as {
      'application/scim+json': { schema: typeof ScimErrorSchema }
    },
  })
  return Object.fromEntries(statuses.map((status) => [status, error(status)])) as { [K in S[number]]: ReturnType<typeof error> }
}

const always = [400, 401, 403, 500, 503] as const
const withBody = [413, 415] as const

const etag = { ETag: { description: 'The version as a weak entity tag: `W/"<version>"`.', schema: { type: 'string' as const } } }
const scim = <S extends z.ZodType>(description: string, schema: S, headers = {}) => ({
  description,
  headers,
  content: { 'application/scim+json': { schema } },
})

const precondition = (name: 'If-Match' | 'If-None-Match', description: string) => ({
  name,
  in: 'header' as const,
  required: false,
  description,
  schema: { type: 'string' as const, maxLength: PRECONDITION_MAX_LENGTH, pattern: PRECONDITION_PATTERN, example: 'W/"3"' },
})
const ifMatch = precondition(
  'If-Match',
  'Proceed only at one of these versions (compared weakly: W/"3" and "3" alike), or `*`; else 412.',
)
const ifNoneMatch = precondition('If-None-Match', 'Answer 304 when the current version is one of these (or `*`).')

const attributeList = (description: string) =>
  z
    .string()
    .max(ATTRIBUTE_LIST_MAX_LENGTH)
    .regex(new RegExp(ATTRIBUTE_LIST_PATTERN), 'must be attribute names such as userName or name.givenName, separated by commas')
    .optional()
    .openapi({ description, example: 'userName,name.givenName,emails.value' })
const Projection = {
  attributes: attributeList('Show only these attributes (and schemas, id). Names the resource does not show select nothing.'),
  excludedAttributes: attributeList('Leave these attributes out (schemas and id stay).'),
}
const integer = (description: string) =>
  z
    .string()
    .regex(/^[+-]?[0-9]{1,20}$/, 'must be an integer')
    .optional()
    .openapi({ description })

// Bounds that keep a list's URL within what the HTTP server reads (about 16 KiB of request line and
// headers), even with every parameter at its longest and percent-encoded: a filter is far shorter in
// practice (Entra's and Okta's are under 300 characters).
const ListQuery = z.object({
  filter: z
    .string()
    .max(FILTER_MAX_LENGTH)
    .optional()
    .openapi({
      description:
        'RFC 7644 §3.4.2.2 filter: eq, ne, co, sw, ew, pr, and, or, not on userName, externalId, emails.value (also ' +
        'emails[type eq "work"].value), displayName, active and id. Anything else is 400 invalidFilter.',
      example: 'userName eq "alice@example.com"',
    }),
  startIndex: integer('1-based index of the first result (less than 1 is 1); default 1.'),
  count: integer('Results per page: at most 100 (more is 100), 0 gives totalResults only; default 100.'),
  sortBy: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: 'Ignored: sorting is not offered (one stable order: creation time, then id).' }),
  sortOrder: z.string().max(64).optional().openapi({ description: 'Ignored, as sortBy.' }),
  ...Projection,
})

const IdParams = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: '665f1c2e9b1e8a3d4c5b6a79' }),
})
const userBody = (schema: typeof ScimUserInputSchema | typeof ScimPatchOpSchema) => ({
  required: true,
  content: { 'application/scim+json': { schema }, 'application/json': { schema } },
})

export const listUsers = createRoute({
  method: 'get',
  path: '/Users',
  tags,
  security,
  operationId: 'scimListUsers',
  summary: 'SCIM: list or find users',
  description: 'A ListResponse (also when empty), oldest first then by id. `userName eq` is one indexed lookup.',
  request: { query: ListQuery },
  responses: { 200: scim('A page of users.', ScimUserListSchema), ...errors(...always) },
})

export const createUser = createRoute({
  method: 'post',
  path: '/Users',
  tags,
  security,
  operationId: 'scimCreateUser',
  summary: 'SCIM: create a user',
  middleware: [scimBody()],
  request: { query: z.object(Projection), body: userBody(ScimUserInputSchema) },
  responses: {
    201: scim('Created.', ScimUserSchema, {
      ...etag,
      Location: { description: "The new user's URL.", schema: { type: 'string' as const } },
    }),
    ...errors(...always, ...withBody, 409),
  },
})

export const getUser = createRoute({
  method: 'get',
  path: '/Users/{id}',
  tags,
  security,
  operationId: 'scimGetUser',
  summary: 'SCIM: get a user',
  parameters: [ifNoneMatch],
  request: { params: IdParams, query: z.object(Projection) },
  responses: {
    200: scim('The user.', ScimUserSchema, etag),
    304: { description: 'The copy named by If-None-Match is current.', headers: etag },
    ...errors(...always, 404),
  },
})

const write = { tags, security, middleware: [scimBody()], parameters: [ifMatch] }

export const replaceUser = createRoute({
  method: 'put',
  path: '/Users/{id}',
  ...write,
  operationId: 'scimReplaceUser',
  summary: 'SCIM: replace a user',
  description: 'Optional attributes left out are cleared; the password and `active` stay unless sent.',
  request: { params: IdParams, query: z.object(Projection), body: userBody(ScimUserInputSchema) },
  responses: { 200: scim('The user as replaced.', ScimUserSchema, etag), ...errors(...always, ...withBody, 404, 409, 412) },
})

export const patchUser = createRoute({
  method: 'patch',
  path: '/Users/{id}',
  ...write,
  operationId: 'scimPatchUser',
  summary: 'SCIM: change a user (PatchOp)',
  description: 'Answers 200 with the user (unchanged, same version, when the operations change nothing stored).',
  request: { params: IdParams, query: z.object(Projection), body: userBody(ScimPatchOpSchema) },
  responses: { 200: scim('The user as changed.', ScimUserSchema, etag), ...errors(...always, ...withBody, 404, 409, 412) },
})

export const deleteUser = createRoute({
  method: 'delete',
  path: '/Users/{id}',
  tags,
  security,
  operationId: 'scimDeleteUser',
  summary: 'SCIM: delete a user',
  description: 'The soft delete of /v1 (restorable by an administrator for USER_RETENTION_DAYS); afterwards GET is 404.',
  parameters: [ifMatch],
  request: { params: IdParams },
  responses: { 204: { description: 'Deleted.' }, ...errors(...always, 404, 412) },
})

const notOffered = (path: string, operationId: string, hide = false) =>
  createRoute({
    method: 'post',
    path,
    hide,
    tags,
    security,
    operationId,
    summary: 'SCIM: search with POST (not offered)',
    description: 'Searching with POST (RFC 7644 §3.4.3) is not offered: use GET /Users with a filter.',
    responses: errors(401, 403, 501, 500),
  })
export const searchAll = notOffered('/.search', 'scimSearch')
// Answered, but not in the document: there it would be a second path beside /Users/{id}, whose
// methods the 405's Allow header lists for it too (`.search` is no id, so they answer 404).
export const searchUsers = notOffered('/Users/.search', 'scimSearchUsers', true)

const discovery = <S extends z.ZodType>(path: string, operationId: string, summary: string, schema: S) =>
  createRoute({
    method: 'get',
    path,
    tags,
    security,
    operationId,
    summary,
    responses: { 200: scim(summary, schema), ...errors(401, 403, 500) },
  })

export const serviceProviderConfig = discovery(
  '/ServiceProviderConfig',
  'scimServiceProviderConfig',
  'SCIM: what this service provider supports',
  ScimServiceProviderConfigSchema,
)
export const resourceTypes = discovery(
  '/ResourceTypes',
  'scimResourceTypes',
  'SCIM: the resource types',
  ScimResourceTypeListSchema,
)
export const schemas = discovery('/Schemas', 'scimSchemas', 'SCIM: the schemas', ScimSchemaListSchema)

const byId = <S extends z.ZodType>(path: string, operationId: string, summary: string, schema: S) =>
  createRoute({
    method: 'get',
    path,
    tags,
    security,
    operationId,
    summary,
    request: { params: z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) }) },
    responses: { 200: scim(summary, schema), ...errors(401, 403, 404, 500) },
  })

export const resourceType = byId('/ResourceTypes/{id}', 'scimResourceType', 'SCIM: a resource type', ScimResourceTypeSchema)
export const schema = byId('/Schemas/{id}', 'scimSchema', 'SCIM: a schema', ScimSchemaSchema)
