import type { Context } from 'hono'
import type { PreconditionFailed } from '../errors'
import { readIfMatch, toEtag } from '../http/etag'
import type { Handler } from '../http/handler'
import { problem } from '../http/problem'
import type * as routes from './webhooks.routes'
import type { DeliveryNotFound, WebhookDisabled, WebhookNotFound, WebhooksService } from './webhooks.service'

/** The webhook routes' handlers: HTTP in, one service call, the outcome back to HTTP. */
export function createWebhooksHandlers(webhooks: WebhooksService) {
  const create: Handler<typeof routes.createWebhook> = async (c) => {
    const outcome = await webhooks.create(c.req.valid('json'))
    if (outcome.kind === 'limit_reached') {
      return problem(
        c,
        'webhook_limit_reached',
        `At most ${outcome.max} webhook endpoints may exist; delete one (or give one endpoint several event types) first.`,
      )
    }
    const { webhook, secret, version } = outcome
    return c.json({ ...webhook, secret }, 201, { Location: `/v1/webhooks/${webhook.id}`, ETag: toEtag(version) })
  }

  const list: Handler<typeof routes.listWebhooks> = async (c) => c.json({ items: await webhooks.list() }, 200)

  const get: Handler<typeof routes.getWebhook> = async (c) => {
    const outcome = await webhooks.get(c.req.valid('param').id)
    if (outcome.kind !== 'found') return webhookNotFound(c, outcome)
    return c.json(outcome.webhook, 200, { ETag: toEtag(outcome.version) })
  }

  const update: Handler<typeof routes.updateWebhook> = async (c) => {
    const outcome = await webhooks.update(c.req.valid('param').id, c.req.valid('json'), readIfMatch(c))
    if (outcome.kind !== 'updated') return refusedWrite(c, outcome)
    return c.json(outcome.webhook, 200, { ETag: toEtag(outcome.version) })
  }

  const remove: Handler<typeof routes.deleteWebhook> = async (c) => {
    const outcome = await webhooks.remove(c.req.valid('param').id, readIfMatch(c))
    return outcome.kind === 'deleted' ? c.body(null, 204) : refusedWrite(c, outcome)
  }

  const rotate: Handler<typeof routes.rotateWebhookSecret> = async (c) => {
    const outcome = await webhooks.rotateSecret(c.req.valid('param').id, readIfMatch(c))
    if (outcome.kind !== 'rotated') return refusedWrite(c, outcome)
    const { secret, previousSecretExpiresAt, version } = outcome
    return c.json({ secret, previousSecretExpiresAt }, 200, { ETag: toEtag(version) })
  }

  const deliveries: Handler<typeof routes.listWebhookDeliveries> = async (c) => {
    const outcome = await webhooks.listDeliveries(c.req.valid('param').id, c.req.valid('query'))
    if (outcome.kind !== 'page') return webhookNotFound(c, outcome)
    return c.json({ items: outcome.items, nextCursor: outcome.nextCursor }, 200)
  }

  const retry: Handler<typeof routes.retryWebhookDelivery> = async (c) => {
    const { id, deliveryId } = c.req.valid('param')
    const outcome = await webhooks.retryDelivery(id, deliveryId)
    switch (outcome.kind) {
      case 'queued':
        return c.json(outcome.delivery, 202)
      case 'webhook_not_found':
        return webhookNotFound(c, outcome)
      case 'delivery_not_found':
        return deliveryNotFound(c, outcome)
      case 'webhook_disabled':
        return webhookDisabled(c, outcome)
    }
  }

  return { create, list, get, update, remove, rotate, deliveries, retry }
}

const webhookNotFound = (c: Context, outcome: WebhookNotFound) =>
  problem(c, 'webhook_not_found', `No webhook endpoint has id '${outcome.id}'.`)

/** A write refused before it happened: the endpoint is gone, or If-Match named another version. */
function refusedWrite(c: Context, outcome: WebhookNotFound | PreconditionFailed) {
  if (outcome.kind === 'webhook_not_found') return webhookNotFound(c, outcome)
  const detail = `The webhook endpoint is at version ${outcome.currentVersion}; If-Match did not name it.`
  return problem(c, 'precondition_failed', detail, { headers: { ETag: toEtag(outcome.currentVersion) } })
}

const deliveryNotFound = (c: Context, outcome: DeliveryNotFound) =>
  problem(c, 'delivery_not_found', `This webhook endpoint has no delivery with id '${outcome.id}'.`)

const webhookDisabled = (c: Context, outcome: WebhookDisabled) =>
  problem(c, 'webhook_disabled', `The webhook endpoint '${outcome.id}' is disabled: enable it (PATCH enabled: true) first.`)
