import { createRouter } from '../http/router'
import { createWebhooksHandlers } from './webhooks.handlers'
import type { WebhookStores } from './webhooks.model'
import * as routes from './webhooks.routes'
import { createWebhooksService } from './webhooks.service'

export type WebhooksRouterDeps = {
  webhooks: WebhookStores
  config: { webhooks: { allowPrivateTargets: boolean } }
  clock?: () => Date
}

/** The /webhooks resource: each route chained with its handler, so the router's type carries them all. */
export function createWebhooksRouter(deps: WebhooksRouterDeps) {
  const handlers = createWebhooksHandlers(
    createWebhooksService({
      ...deps.webhooks,
      allowPrivateTargets: deps.config.webhooks.allowPrivateTargets,
      ...(deps.clock ? { clock: deps.clock } : {}),
    }),
  )
  return createRouter()
    .openapi(routes.createWebhook, handlers.create)
    .openapi(routes.listWebhooks, handlers.list)
    .openapi(routes.getWebhook, handlers.get)
    .openapi(routes.updateWebhook, handlers.update)
    .openapi(routes.deleteWebhook, handlers.remove)
    .openapi(routes.rotateWebhookSecret, handlers.rotate)
    .openapi(routes.listWebhookDeliveries, handlers.deliveries)
    .openapi(routes.retryWebhookDelivery, handlers.retry)
}
