import { createRoute } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { requireScope } from '../auth/middleware'
import { jsonBody } from '../http/json-body'
import { problemResponses } from '../http/problem'
import type { AppEnv } from '../http/types'
import type { Scope } from '../scopes'
import {
  LegacyCreateUserSchema,
  LegacyMessageSchema,
  LegacyUpdateUserSchema,
  LegacyUsernameParams,
  LegacyUserSchema,
} from './legacy.schemas'

/**
 * The Flask service's five routes, kept for its clients while they move to /v1. They are always
 * declared (so the document and openapi.json are the same whatever the configuration) and answer
 * 404 `not_found` unless LEGACY_ROUTES=true. Each is deprecated in the document and on the wire.
 */

const tags = ['legacy']

const deprecationHeaders = {
  Deprecation: {
    description: 'RFC 9745: when these routes were deprecated, as `@<unix seconds>`.',
    schema: { type: 'string' as const, example: '@1795564800' },
  },
  Link: {
    description: 'The /v1 route to use instead: `</v1/users...>; rel="successor-version"`.',
    schema: { type: 'string' as const, example: '</v1/users>; rel="successor-version"' },
  },
}

const json = <S>(description: string, schema: S) => ({
  description,
  headers: deprecationHeaders,
  content: { 'application/json': { schema } },
})

const OFF = ' Answers 404 `not_found` unless the service runs with LEGACY_ROUTES=true.'

/** Statuses every legacy route can answer; 404 `not_found` is the answer while they are switched off. */
const always = ['validation_failed', 'unauthorized', 'forbidden', 'not_found', 'internal_error', 'service_unavailable'] as const
const withBody = ['malformed_json', 'payload_too_large', 'unsupported_media_type'] as const

const guarded = (scope: Scope, ...after: MiddlewareHandler<AppEnv>[]) => ({
  deprecated: true,
  tags,
  security: [{ bearerAuth: [scope] }],
  middleware: [requireScope(scope), ...after],
})

export const legacyCreate = createRoute({
  method: 'post',
  path: '/create',
  operationId: 'legacyCreateUser',
  ...guarded('users:write', jsonBody('application/json')),
  summary: 'Create a user (Flask service shape; use POST /v1/users)',
  description: `The old service's create. Unknown fields are refused; the password is hashed and never returned.${OFF}`,
  request: { body: { required: true, content: { 'application/json': { schema: LegacyCreateUserSchema } } } },
  responses: {
    201: json('Created.', LegacyUserSchema),
    ...problemResponses(...always, ...withBody, 'username_taken', 'email_taken'),
  },
})

export const legacyReadAll = createRoute({
  method: 'get',
  path: '/read',
  operationId: 'legacyListUsers',
  ...guarded('users:read'),
  summary: 'List users (Flask service shape; use GET /v1/users)',
  description: `Every user, oldest first, at most 10,000 (then \`X-Legacy-Truncated: true\`; page through GET /v1/users instead).${OFF}`,
  responses: {
    200: {
      ...json('The users.', LegacyUserSchema.array()),
      headers: {
        ...deprecationHeaders,
        'X-Legacy-Truncated': {
          description: 'Present (`true`) when there were more users than one answer holds.',
          schema: { type: 'string' as const },
        },
      },
    },
    ...problemResponses(...always),
  },
})

export const legacyReadOne = createRoute({
  method: 'get',
  path: '/read/{username}',
  operationId: 'legacyGetUser',
  ...guarded('users:read'),
  summary: 'Get a user by username (Flask service shape; use GET /v1/users/by-username/{username})',
  description: `Case-insensitive, like the /v1 route.${OFF}`,
  request: { params: LegacyUsernameParams },
  responses: {
    200: json('The user.', LegacyUserSchema),
    ...problemResponses(...always, 'user_not_found'),
  },
})

export const legacyUpdate = createRoute({
  method: 'put',
  path: '/update/{username}',
  operationId: 'legacyUpdateUser',
  ...guarded('users:write', jsonBody('application/json')),
  summary: 'Update a user (Flask service shape; use PATCH /v1/users/{id})',
  description: `Changes the fields sent. \`role\` and \`is_active\` need users:admin, as on /v1.${OFF}`,
  request: {
    params: LegacyUsernameParams,
    body: { required: true, content: { 'application/json': { schema: LegacyUpdateUserSchema } } },
  },
  responses: {
    200: json('The updated user.', LegacyUserSchema),
    ...problemResponses(...always, ...withBody, 'user_not_found', 'username_taken', 'email_taken'),
  },
})

export const legacyDelete = createRoute({
  method: 'delete',
  path: '/delete/{username}',
  operationId: 'legacyDeleteUser',
  ...guarded('users:write'),
  summary: 'Delete a user (Flask service shape; use DELETE /v1/users/{id})',
  description: OFF.trim(),
  request: { params: LegacyUsernameParams },
  responses: {
    200: json('Deleted.', LegacyMessageSchema),
    ...problemResponses(...always, 'user_not_found'),
  },
})
