import { z } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { requireScope } from '../auth/middleware'
import { PRECONDITION_MAX_LENGTH, PRECONDITION_PATTERN } from '../http/etag'
import type { AppEnv } from '../http/types'
import { IDEMPOTENCY_KEY_PATTERN } from '../idempotency/middleware'
import type { Scope } from '../scopes'
import { UserIdSchema, UserSchema } from './users.schemas'

/**
 * The pieces the users routes share (users.routes.ts, users.lifecycle.routes.ts): tags, the ETag
 * header, the links between operations, the preconditions and the route guard.
 */
export const tags = ['users']

export const etagHeader = {
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
export const userLinks = {
  GetUser: {
    operationId: 'getUser',
    // includeDeleted pinned: "read it again" is the ordinary read, 404 once the user is deleted.
    // (No links to restore or erase: a stateful tester knows a removal only as a DELETE, so it
    // would take the reads around them for use-after-delete or a lost resource.)
    parameters: { id: '$response.body#/id', 'header.If-None-Match': '$response.header.ETag', 'query.includeDeleted': 'false' },
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

export const userResponse = (description: string) => ({
  description,
  headers: etagHeader,
  links: userLinks,
  content: { 'application/json': { schema: UserSchema } },
})

export const notModified = { description: 'The copy named by If-None-Match is current.', headers: etagHeader }

/** Statuses every route under /v1 can answer, whatever it does. */
export const always = ['validation_failed', 'unauthorized', 'forbidden', 'internal_error', 'service_unavailable'] as const

/** Bearer auth with `scope`, checked before validation and before any read. */
export const guarded = (scope: Scope, ...after: MiddlewareHandler<AppEnv>[]) => ({
  security: [{ bearerAuth: [scope] }],
  middleware: [requireScope(scope), ...after],
})

export const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header' as const,
  required: false,
  description:
    'Makes the create safe to retry for 24 h: the same key and body replay the first answer (with `Idempotent-Replayed: true`); ' +
    'another body gets 422, and a retry while the first request still runs gets 409. A 5xx or a conflict (409 `username_taken`, ' +
    '`email_taken`, `external_id_taken`) is not kept: a retry runs again. Keys are per caller; 1-255 visible ASCII characters.',
  schema: {
    type: 'string' as const,
    minLength: 1,
    maxLength: 255,
    pattern: IDEMPOTENCY_KEY_PATTERN,
    example: '5b2f7a4e-0d1c-4c3b-9a8e-1f2d3c4b5a69',
  },
}
/** Extra statuses of routes that read a JSON body. */
export const withBody = ['malformed_json', 'payload_too_large', 'unsupported_media_type'] as const

export const IdParams = z.object({ id: UserIdSchema.openapi({ param: { name: 'id', in: 'path' } }) })

// Precondition headers are declared as plain OpenAPI parameters and parsed by the handlers
// (readPrecondition), not as `request.headers`: a zod header schema would make every typed-client
// call pass a `header` object even when it sends no precondition. Their schema is the parser's own
// pattern, so the document says exactly which values get 400.
export const preconditionSchema = (example: string) => ({
  type: 'string' as const,
  maxLength: PRECONDITION_MAX_LENGTH,
  pattern: PRECONDITION_PATTERN,
  example,
})
export const ifNoneMatch = {
  name: 'If-None-Match',
  in: 'header' as const,
  required: false,
  description: 'Answer 304 when the current version is one of these entity tags (or `*`).',
  schema: preconditionSchema('"3"'),
}

export const ifMatch = {
  name: 'If-Match',
  in: 'header' as const,
  required: false,
  description: 'Only proceed when the current version is one of these entity tags (or `*`); otherwise 412.',
  schema: preconditionSchema('"3"'),
}

/**
 * GET /users/{id}?includeDeleted=true. A plain OpenAPI parameter read by the handler (readFlag), as
 * the preconditions are: a zod query schema would make every typed-client call of getUser pass a
 * `query` object.
 */
export const includeDeleted = {
  name: 'includeDeleted',
  in: 'query' as const,
  required: false,
  description: '`true` also finds a deleted user (not yet purged), with `deletedAt` and `purgeAt`; needs users:admin.',
  schema: { type: 'string' as const, enum: ['true', 'false'], default: 'false' },
}
