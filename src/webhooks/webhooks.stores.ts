import type { DatabaseHandle } from '../db/calls'
import { createWebhookDeliveries } from './webhooks.deliveries.repository'
import { createDispatcherCursor, createEventSource } from './webhooks.events.repository'
import type { WebhookStores } from './webhooks.model'
import { createWebhookEndpoints } from './webhooks.repository'
import { createSecretSealer, type SecretSealer } from './webhooks.sealing'

/**
 * The webhooks' stores on one database handle (building them does no I/O); src/stores.ts calls
 * this. `sealer` seals the endpoints' secrets at rest (none: stored as they are).
 */
export function createWebhookStores(
  database: DatabaseHandle,
  sealer: SecretSealer = createSecretSealer([]),
): WebhookStores & { ensureIndexes(): Promise<void> } {
  const endpoints = createWebhookEndpoints(database, sealer)
  const deliveries = createWebhookDeliveries(database)
  return {
    endpoints,
    deliveries,
    events: createEventSource(database),
    cursor: createDispatcherCursor(database),
    async ensureIndexes() {
      // The events collection's indexes (unique sequence) are src/events/'s, which writes it.
      await endpoints.ensureIndexes()
      await deliveries.ensureIndexes()
    },
  }
}
