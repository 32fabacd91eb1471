import { createRoute, z } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { requireScope } from '../auth/middleware'
import { PRECONDITION_MAX_LENGTH, PRECONDITION_PATTERN } from '../http/etag'
import { jsonBody } from '../http/json-body'
import { problemResponses } from '../http/problem'
import type { AppEnv } from '../http/types'
import type { IdempotencyStore } from '../idempotency/idempotency'
import { IDEMPOTENCY_KEY_PATTERN, idempotent } from '../idempotency/middleware'
import type { Scope } from '../scopes'
import {
  CreateUserSchema,
  EmailSchema,
  ListUsersQuerySchema,
  UpdateUserSchema,
  UserIdSchema,
  UserListSchema,
  UsernameSchema,
  UserSchema,
} from './users.schemas'

/** One createRoute per endpoint of API.md; every status a route can answer is declared here. */

const tags = ['users']

const etagHeader = {
  ETag: {
    description: 'The user\'s version as an entity tag: `"<version>"`.',
    schema: { type: 'string' as const, example: '"1"' },
  },
}

/**
 * OpenAPI links from an answer carrying a user to what a client does next with it: they document
 * the flow (create → read → update → delete, with the ETag as the precondition) and let stateful
 * testers such as Schemathesis chain real requests instead of guessing ids.
 */
const userLinks = {
  GetUser: {
    operationId: 'getUser',
    parameters: { id: '$response.body#/id', 'header.If-None-Match': '$response.header.ETag' },
    description: 'Read it again; 304 while unchanged.',
  },
  UpdateUser: {
    operationId: 'updateUser',
    parameters: { id: '$response.body#/id', 'header.If-Match': '$response.header.ETag' },
    description: 'Update it, only if nobody changed it since.',
  },
  DeleteUser: {
    operationId: 'deleteUser',
    parameters: { id: '$response.body#/id', 'header.If-Match': '$response.header.ETag' },
    description: 'Delete it, only if nobody changed it since.',
  },
}

const userResponse = (description: string) => ({
  description,
  headers: etagHeader,
  links: userLinks,
  content: { 'application/json': { schema: UserSchema } },
})

const notModified = { description: 'The copy named by If-None-Match is current.', headers: etagHeader }

/** Statuses every route under /v1 can answer, whatever it does. */
const always = ['validation_failed', 'unauthorized', 'forbidden', 'internal_error', 'service_unavailable'] as const

/** Bearer auth with `scope`, checked before validation and before any read. */
const guarded = (scope: Scope, ...after: MiddlewareHandler<AppEnv>[]) => ({
  security: [{ bearerAuth: [scope] }],
  middleware: [requireScope(scope), ...after],
})

const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header' as const,
  required: false,
  description:
    'Makes the create safe to retry for 24 h: the same key and body replay the first answer (with `Idempotent-Replayed: true`); ' +
    'another body gets 422, and a retry while the first request still runs gets 409. Keys are per caller; 1-255 visible ASCII characters.',
  schema: {
    type: 'string' as const,
    minLength: 1,
    maxLength: 255,
    pattern: IDEMPOTENCY_KEY_PATTERN,
    example: '5b2f7a4e-0d1c-4c3b-9a8e-1f2d3c4b5a69',
  },
}
/** Extra statuses of routes that read a JSON body. */
const withBody = ['malformed_json', 'payload_too_large', 'unsupported_media_type'] as const

const IdParams = z.object({ id: UserIdSchema.openapi({ param: { name: 'id', in: 'path' } }) })

// Precondition headers are declared as plain OpenAPI parameters and parsed by the handlers
// (readPrecondition), not as `request.headers`: a zod header schema would make every typed-client
// call pass a `header` object even when it sends no precondition. Their schema is the parser's own
// pattern, so the document says exactly which values get 400.
const preconditionSchema = (example: string) => ({
  type: 'string' as const,
  maxLength: PRECONDITION_MAX_LENGTH,
  pattern: PRECONDITION_PATTERN,
  example,
})
const ifNoneMatch = {
  name: 'If-None-Match',
  in: 'header' as const,
  required: false,
  description: 'Answer 304 when the current version is one of these entity tags (or `*`).',
  schema: preconditionSchema('"3"'),
}

const ifMatch = {
  name: 'If-Match',
  in: 'header' as const,
  required: false,
  description: 'Only proceed when the current version is one of these entity tags (or `*`); otherwise 412.',
  schema: preconditionSchema('"3"'),
}

/** Built per app: its Idempotency-Key middleware keeps keys in the app's store. */
export const createUser = (idempotency: IdempotencyStore) =>
  createRoute({
    method: 'post',
    path: '/users',
    tags,
    operationId: 'createUser',
    ...guarded('users:write', jsonBody('application/json'), idempotent(idempotency, CreateUserSchema)),
    parameters: [idempotencyKey],
    summary: 'Create a user',
    description: 'Username and email must be unused, compared case-insensitively. The password is stored as an argon2id hash.',
    request: { body: { required: true, content: { 'application/json': { schema: CreateUserSchema } } } },
    responses: {
      201: {
        description: 'Created.',
        headers: {
          ...etagHeader,
          Location: {
            description: "The new user's URL.",
            schema: { type: 'string' as const, example: '/v1/users/665f1c2e9b1e8a3d4c5b6a79' },
          },
        },
        links: {
          ...userLinks,
          GetUserByUsername: {
            operationId: 'getUserByUsername',
            parameters: { username: '$response.body#/username' },
            description: 'Find it by username.',
          },
          GetUserByEmail: {
            operationId: 'getUserByEmail',
            parameters: { email: '$response.body#/email' },
            description: 'Find it by email.',
          },
        },
        content: { 'application/json': { schema: UserSchema } },
      },
      ...problemResponses(
        ...always,
        ...withBody,
        'username_taken',
        'email_taken',
        'external_id_taken',
        'idempotency_key_in_use',
        'idempotency_key_reused',
      ),
    },
  })

export const getUser = createRoute({
  method: 'get',
  path: '/users/{id}',
  tags,
  operationId: 'getUser',
  ...guarded('users:read'),
  summary: 'Get a user by id',
  parameters: [ifNoneMatch],
  request: { params: IdParams },
  responses: {
    200: userResponse('The user.'),
    304: notModified,
    ...problemResponses(...always, 'user_not_found'),
  },
})

export const getUserByUsername = createRoute({
  method: 'get',
  path: '/users/by-username/{username}',
  tags,
  operationId: 'getUserByUsername',
  ...guarded('users:read'),
  summary: 'Get a user by username (case-insensitive)',
  request: {
    params: z.object({ username: UsernameSchema.openapi({ param: { name: 'username', in: 'path' } }) }),
  },
  parameters: [ifNoneMatch],
  responses: {
    200: userResponse('The user.'),
    304: notModified,
    ...problemResponses(...always, 'user_not_found'),
  },
})

export const getUserByEmail = createRoute({
  method: 'get',
  path: '/users/by-email/{email}',
  tags,
  operationId: 'getUserByEmail',
  ...guarded('users:read'),
  summary: 'Get a user by email (case-insensitive)',
  request: {
    params: z.object({ email: EmailSchema.openapi({ param: { name: 'email', in: 'path' } }) }),
  },
  parameters: [ifNoneMatch],
  responses: {
    200: userResponse('The user.'),
    304: notModified,
    ...problemResponses(...always, 'user_not_found'),
  },
})

export const listUsers = createRoute({
  method: 'get',
  path: '/users',
  tags,
  operationId: 'listUsers',
  ...guarded('users:read'),
  summary: 'List users',
  description:
    'Filters combine with AND. Pages are keyset-based: pass `nextCursor` back as `cursor` with the same filters and sort; page 10,000 costs what page 1 costs.',
  request: { query: ListUsersQuerySchema },
  responses: {
    200: { description: 'A page of users.', content: { 'application/json': { schema: UserListSchema } } },
    ...problemResponses(...always),
  },
})

export const updateUser = createRoute({
  method: 'patch',
  path: '/users/{id}',
  tags,
  operationId: 'updateUser',
  ...guarded('users:write', jsonBody('application/merge-patch+json', 'application/json')),
  summary: 'Update a user (JSON merge patch)',
  description:
    'RFC 7396 merge patch. Sending the stored values changes nothing and keeps the version. Concurrent updates never lose a change; pin a version with If-Match to fail instead of applying over a newer one.',
  parameters: [ifMatch],
  request: {
    params: IdParams,
    body: {
      required: true,
      content: {
        'application/merge-patch+json': { schema: UpdateUserSchema },
        'application/json': { schema: UpdateUserSchema },
      },
    },
  },
  responses: {
    200: userResponse('The updated user.'),
    ...problemResponses(
      ...always,
      ...withBody,
      'user_not_found',
      'username_taken',
      'email_taken',
      'external_id_taken',
      'precondition_failed',
    ),
  },
})

export const deleteUser = createRoute({
  method: 'delete',
  path: '/users/{id}',
  tags,
  operationId: 'deleteUser',
  ...guarded('users:write'),
  summary: 'Delete a user',
  parameters: [ifMatch],
  request: { params: IdParams },
  responses: {
    204: { description: 'Deleted.' },
    ...problemResponses(...always, 'user_not_found', 'precondition_failed'),
  },
})
