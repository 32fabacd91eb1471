import { createRoute } from '@hono/zod-openapi'
import { noBody } from '../http/no-body'
import { onlyQuery } from '../http/only-query'
import { problemResponses } from '../http/problem'
import { always, etagHeader, guarded, IdParams, ifMatch, tags } from './users.routes.parts'
import { UserSchema } from './users.schemas'

/**
 * The lifecycle's own routes (issue 15): restore and erase, administrative only. The delete and the
 * administrative reads of deleted users are the existing routes (DELETE, includeDeleted=true,
 * deleted=true). Neither takes a body: one sent is a 400, not ignored.
 */

export const restoreUser = createRoute({
  method: 'post',
  path: '/users/{id}/restore',
  tags,
  operationId: 'restoreUser',
  ...guarded('users:admin', onlyQuery(), noBody()),
  summary: 'Restore a deleted user',
  description:
    'Undoes the delete of a user not yet purged: it is live again with the role, status and fields it had, at version + 1. ' +
    'Its username, email and externalId must still be free (409 otherwise, naming the field). 404 when no deleted user has this id.',
  parameters: [ifMatch],
  request: { params: IdParams },
  responses: {
    // No links: a stateful tester reading the user again after DELETE → restore would count it as
    // a read of a deleted resource (it knows only re-creations at the resource's own path).
    200: { description: 'The user, live again.', headers: etagHeader, content: { 'application/json': { schema: UserSchema } } },
    ...problemResponses(
      ...always,
      'payload_too_large',
      'user_not_found',
      'username_taken',
      'email_taken',
      'external_id_taken',
      'precondition_failed',
    ),
  },
})

export const eraseUser = createRoute({
  method: 'post',
  path: '/users/{id}/erase',
  tags,
  operationId: 'eraseUser',
  ...guarded('users:admin', onlyQuery(), noBody()),
  summary: 'Erase a user (data-protection erasure)',
  description:
    'Final: every personal value of the user (live or deleted) is gone at once from every collection the service keeps, ' +
    'Idempotency-Key records and failed-attempt counts included. Afterwards every read, restore or erase of the id is 404; ' +
    'the id is never reused. With If-Match, only the user at that version is erased (412 otherwise, with its ETag).',
  parameters: [ifMatch],
  request: { params: IdParams },
  responses: {
    204: { description: 'Erased.' },
    ...problemResponses(...always, 'payload_too_large', 'user_not_found', 'precondition_failed'),
  },
})
