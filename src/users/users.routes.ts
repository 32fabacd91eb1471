import { createRoute, z } from '@hono/zod-openapi'
import { jsonBody } from '../http/json-body'
import { onlyQuery } from '../http/only-query'
import { problemResponses } from '../http/problem'
import type { IdempotencyStore } from '../idempotency/idempotency'
import { createdId, idempotent } from '../idempotency/middleware'
import {
  always,
  etagHeader,
  guarded,
  IdParams,
  idempotencyKey,
  ifMatch,
  ifNoneMatch,
  includeDeleted,
  notModified,
  tags,
  userLinks,
  userResponse,
  withBody,
} from './users.routes.parts'
import {
  CreateUserSchema,
  EmailSchema,
  ListUsersQuerySchema,
  UpdateUserSchema,
  UserListSchema,
  UsernameSchema,
  UserSchema,
} from './users.schemas'

/** One createRoute per endpoint of API.md; every status a route can answer is declared here. */

/** Built per app: its Idempotency-Key middleware keeps keys in the app's store. */
export const createUser = (idempotency: IdempotencyStore) =>
  createRoute({
    method: 'post',
    path: '/users',
    tags,
    operationId: 'createUser',
    ...guarded(
      'users:write',
      onlyQuery(),
      jsonBody('application/json'),
      idempotent(idempotency, CreateUserSchema, { userIdOf: createdId }),
    ),
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
  ...guarded('users:read', onlyQuery('includeDeleted')),
  summary: 'Get a user by id',
  description: 'A deleted user is 404, unless `includeDeleted=true` (users:admin): then it comes with `deletedAt` and `purgeAt`.',
  parameters: [ifNoneMatch, includeDeleted],
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
  ...guarded('users:read', onlyQuery()),
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
  ...guarded('users:read', onlyQuery()),
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
  ...guarded('users:write', onlyQuery(), jsonBody('application/merge-patch+json', 'application/json')),
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
  ...guarded('users:write', onlyQuery()),
  summary: 'Delete a user',
  description:
    'The user is deleted at once for every read, list and credential check, and its username and email are free; ' +
    'it is kept USER_RETENTION_DAYS (restore, includeDeleted=true), then purged.',
  parameters: [ifMatch],
  request: { params: IdParams },
  responses: {
    204: { description: 'Deleted.' },
    ...problemResponses(...always, 'user_not_found', 'precondition_failed'),
  },
})
