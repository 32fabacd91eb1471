import type { StoredAttempt, StoredDelivery, StoredEndpoint } from './webhooks.model'
import type { Delivery, Webhook } from './webhooks.schemas'

/** Endpoints and deliveries as the API shows them: ISO dates, optional fields absent, never a secret. */

export function toWebhook(endpoint: StoredEndpoint, now: Date): Webhook {
  const previous = endpoint.secrets.find((entry) => entry.expiresAt !== undefined && entry.expiresAt.getTime() > now.getTime())
  return {
    id: endpoint.id,
    url: endpoint.url,
    ...(endpoint.types ? { types: endpoint.types } : {}),
    ...(endpoint.description !== undefined ? { description: endpoint.description } : {}),
    enabled: endpoint.enabled,
    ...(endpoint.disabledReason ? { disabledReason: endpoint.disabledReason } : {}),
    ...(previous?.expiresAt ? { previousSecretExpiresAt: previous.expiresAt.toISOString() } : {}),
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  }
}

export function toDelivery(delivery: StoredDelivery): Delivery {
  return {
    id: delivery.id,
    webhookId: delivery.webhookId,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    sequence: delivery.sequence,
    status: delivery.status,
    attempts: delivery.attempts,
    ...(delivery.status === 'pending' && delivery.nextAttemptAt ? { nextAttemptAt: delivery.nextAttemptAt.toISOString() } : {}),
    recentAttempts: delivery.recentAttempts.map(toAttempt),
    createdAt: delivery.createdAt.toISOString(),
    updatedAt: delivery.updatedAt.toISOString(),
  }
}

function toAttempt(attempt: StoredAttempt): Delivery['recentAttempts'][number] {
  const { at, ...rest } = attempt
  return { at: at.toISOString(), ...rest }
}
