import { createRoute } from '@hono/zod-openapi'
import { jsonBody } from '../http/json-body'
import { noBody } from '../http/no-body'
import { onlyQuery } from '../http/only-query'
import { problemResponses } from '../http/problem'
import { always, guarded, ifMatch, withBody } from '../users/users.routes.parts'
import { MAX_WEBHOOK_ENDPOINTS } from './webhooks.model'
import {
  CreatedWebhookSchema,
  CreateWebhookSchema,
  DeliveryListSchema,
  DeliveryParamsSchema,
  DeliverySchema,
  ListDeliveriesQuerySchema,
  RotatedSecretSchema,
  UpdateWebhookSchema,
  WebhookListSchema,
  WebhookParamsSchema,
  WebhookSchema,
} from './webhooks.schemas'

/** The webhook management routes of API.md ("Change events"): every status each can answer. */

const tags = ['webhooks']
const scope = 'webhooks:manage'
/** The endpoint's version as an entity tag, for If-Match on its PATCH, DELETE and rotate-secret. */
const etag = {
  ETag: {
    description: 'The endpoint\'s version as an entity tag: `"<version>"`.',
    schema: { type: 'string' as const, example: '"1"' },
  },
}
const webhook = (description: string) => ({
  description,
  headers: etag,
  content: { 'application/json': { schema: WebhookSchema } },
})

export const createWebhook = createRoute({
  method: 'post',
  path: '/webhooks',
  tags,
  operationId: 'createWebhook',
  ...guarded(scope, onlyQuery(), jsonBody('application/json')),
  summary: 'Create a webhook endpoint',
  description:
    'The endpoint receives every event (or the `types` listed) that happens from now on, signed per Standard Webhooks with ' +
    'the `secret` in the answer: the only time it is shown. `https://` to a public host only, unless the service runs with ' +
    `WEBHOOK_ALLOW_PRIVATE_TARGETS=true (400 at /url otherwise). At most ${MAX_WEBHOOK_ENDPOINTS} endpoints (409 webhook_limit_reached).`,
  request: { body: { required: true, content: { 'application/json': { schema: CreateWebhookSchema } } } },
  responses: {
    201: {
      description: 'Created; `secret` is shown only here.',
      headers: {
        Location: {
          description: "The endpoint's URL.",
          schema: { type: 'string' as const, example: '/v1/webhooks/wh_01JD8Z3N5W7QK2XH9V4T6RBM0C' },
        },
        ...etag,
      },
      content: { 'application/json': { schema: CreatedWebhookSchema } },
    },
    ...problemResponses(...always, ...withBody, 'webhook_limit_reached'),
  },
})

export const listWebhooks = createRoute({
  method: 'get',
  path: '/webhooks',
  tags,
  operationId: 'listWebhooks',
  ...guarded(scope, onlyQuery()),
  summary: 'List webhook endpoints',
  description: `Every endpoint, oldest first (at most ${MAX_WEBHOOK_ENDPOINTS}: no paging). Secrets are never shown.`,
  responses: {
    200: { description: 'The endpoints.', content: { 'application/json': { schema: WebhookListSchema } } },
    ...problemResponses(...always),
  },
})

export const getWebhook = createRoute({
  method: 'get',
  path: '/webhooks/{id}',
  tags,
  operationId: 'getWebhook',
  ...guarded(scope, onlyQuery()),
  summary: 'Get a webhook endpoint',
  request: { params: WebhookParamsSchema },
  responses: { 200: webhook('The endpoint.'), ...problemResponses(...always, 'webhook_not_found') },
})

export const updateWebhook = createRoute({
  method: 'patch',
  path: '/webhooks/{id}',
  tags,
  operationId: 'updateWebhook',
  ...guarded(scope, onlyQuery(), jsonBody('application/merge-patch+json', 'application/json')),
  summary: 'Update a webhook endpoint (JSON merge patch)',
  description:
    '`enabled: false` stops deliveries: pending ones become `failed` (retry them after enabling). `enabled: true` starts it ' +
    'again from the events of now on (clearing `disabledReason`). A new `url` is checked as on create. With If-Match, only ' +
    'at that version (412 otherwise, with the current ETag).',
  parameters: [ifMatch],
  request: {
    params: WebhookParamsSchema,
    body: {
      required: true,
      content: {
        'application/merge-patch+json': { schema: UpdateWebhookSchema },
        'application/json': { schema: UpdateWebhookSchema },
      },
    },
  },
  responses: {
    200: webhook('The updated endpoint.'),
    ...problemResponses(...always, ...withBody, 'webhook_not_found', 'precondition_failed'),
  },
})

export const deleteWebhook = createRoute({
  method: 'delete',
  path: '/webhooks/{id}',
  tags,
  operationId: 'deleteWebhook',
  ...guarded(scope, onlyQuery()),
  summary: 'Delete a webhook endpoint',
  description:
    'Final: its deliveries, pending or past, are deleted with it. With If-Match, only at that version (412 otherwise).',
  parameters: [ifMatch],
  request: { params: WebhookParamsSchema },
  responses: { 204: { description: 'Deleted.' }, ...problemResponses(...always, 'webhook_not_found', 'precondition_failed') },
})

export const rotateWebhookSecret = createRoute({
  method: 'post',
  path: '/webhooks/{id}/rotate-secret',
  tags,
  operationId: 'rotateWebhookSecret',
  ...guarded(scope, onlyQuery(), noBody()),
  summary: "Rotate a webhook endpoint's signing secret",
  description:
    'A new secret signs from now on; the replaced one keeps signing beside it (a second `v1,` signature) for 24 h, so ' +
    'receivers can switch without losing a delivery. A secret replaced earlier stops at once. With If-Match, only at that ' +
    'version (412 otherwise).',
  parameters: [ifMatch],
  request: { params: WebhookParamsSchema },
  responses: {
    200: {
      description: "The new secret: shown only here; `ETag`, the endpoint's new version.",
      headers: etag,
      content: { 'application/json': { schema: RotatedSecretSchema } },
    },
    ...problemResponses(...always, 'payload_too_large', 'webhook_not_found', 'precondition_failed'),
  },
})

export const listWebhookDeliveries = createRoute({
  method: 'get',
  path: '/webhooks/{id}/deliveries',
  tags,
  operationId: 'listWebhookDeliveries',
  ...guarded(scope),
  summary: "List a webhook endpoint's deliveries, newest first",
  description:
    'One delivery per event sent to this endpoint, with its last attempts. Finished deliveries are kept 30 days. A `cursor` ' +
    'is valid only from a `nextCursor` of this endpoint (400 at /cursor otherwise).',
  request: { params: WebhookParamsSchema, query: ListDeliveriesQuerySchema },
  responses: {
    200: { description: 'A page of deliveries.', content: { 'application/json': { schema: DeliveryListSchema } } },
    ...problemResponses(...always, 'webhook_not_found'),
  },
})

export const retryWebhookDelivery = createRoute({
  method: 'post',
  path: '/webhooks/{id}/deliveries/{deliveryId}/retry',
  tags,
  operationId: 'retryWebhookDelivery',
  ...guarded(scope, onlyQuery(), noBody()),
  summary: 'Send a delivery again now',
  description:
    'Pending, failed or succeeded: it becomes pending and due now, for one more attempt (the count goes on); the same ' +
    '`webhook-id`, so a receiver that has it already can ignore it. 409 while the endpoint is disabled.',
  request: { params: DeliveryParamsSchema },
  responses: {
    202: { description: 'Queued: the delivery, pending.', content: { 'application/json': { schema: DeliverySchema } } },
    ...problemResponses(...always, 'payload_too_large', 'webhook_not_found', 'delivery_not_found', 'webhook_disabled'),
  },
})
