import type { Config } from '../config'
import type { DatabaseHandle } from '../db/calls'
import { createLease } from '../db/lease'
import type { Logger } from '../logger'
import type { Metrics, WebhookAttemptSample } from '../observability/metrics'
import { createWebhookDispatcher } from './webhooks.dispatcher'
import { DISPATCHER_LEASE_NAME, EVENTS_STATE_COLLECTION } from './webhooks.events.repository'
import type { WebhookStores } from './webhooks.model'
import { createWebhookSender, type WebhookSender } from './webhooks.sender'
import { type AttemptReport, createDeliveryWorkers } from './webhooks.workers'

/**
 * Webhook delivery as the service runs it (src/service.ts): the dispatcher on its lease (one
 * holder across the instances), and the workers (on every instance). Tests and scripts build the
 * parts directly, with short intervals.
 */
export type WebhookDeliveryOptions = {
  database: DatabaseHandle
  stores: WebhookStores
  config: Config['webhooks']
  logger: Logger
  /** Where each attempt is counted (webhook_attempts_total and the rest: docs/events.md, "Webhooks"). */
  metrics?: Pick<Metrics, 'countWebhookAttempt'>
  clock?: () => Date
  /** Instead of the real sender (HTTP); tests only. */
  send?: WebhookSender
}

/** The dispatcher's lease: taken over 10 s after its holder stops renewing; renewed every 3 s. */
const LEASE_TTL_MS = 10_000
const LEASE_RENEW_MS = 3_000

export function startWebhookDelivery(options: WebhookDeliveryOptions): {
  /** New events are visible (this process's relay published them): the dispatcher looks soon. */
  published(): void
  stop(): Promise<void>
} {
  const { logger, config } = options
  const clock = options.clock ?? (() => new Date())
  const lease = createLease(options.database, {
    collection: EVENTS_STATE_COLLECTION,
    name: DISPATCHER_LEASE_NAME,
    ttlMs: LEASE_TTL_MS,
    renewEveryMs: LEASE_RENEW_MS,
    clock,
    onChange: (held) => {
      logger.info({ held }, held ? 'webhook dispatcher: this instance dispatches' : 'webhook dispatcher: lease given up or lost')
      if (held) dispatcher.nudge()
    },
  })
  const send =
    options.send ?? createWebhookSender({ timeoutMs: config.timeoutMs, allowPrivateTargets: config.allowPrivateTargets, clock })
  const workers = createDeliveryWorkers({
    stores: options.stores,
    send,
    schedule: config.retrySchedule,
    timeoutMs: config.timeoutMs,
    clock,
    onError: (error) => logger.warn({ err: error }, 'webhook delivery: a database call failed; retrying'),
    onAttempt: reportAttempt(logger, options.metrics),
  })
  const dispatcher = createWebhookDispatcher({
    stores: options.stores,
    lease,
    schedule: config.retrySchedule,
    clock,
    onDispatched: () => workers.wake(),
    onError: (error) => logger.warn({ err: error }, 'webhook dispatcher: a round failed; retrying'),
  })
  lease.start()
  dispatcher.start()
  workers.start()
  return {
    published: () => dispatcher.published(),
    async stop() {
      await dispatcher.stop()
      await workers.stop()
      await lease.stop()
    },
  }
}

/** What the service does with each attempt's report: logs the failures and counts every one. */
export function reportAttempt(logger: Logger, metrics?: Pick<Metrics, 'countWebhookAttempt'>) {
  return (report: AttemptReport): void => {
    logAttempt(logger, report)
    metrics?.countWebhookAttempt(attemptSample(report))
  }
}

/** An attempt's report as the metrics count it: outcome classes and reasons only. */
function attemptSample(report: AttemptReport): WebhookAttemptSample {
  const { outcome, status } = report
  if (outcome === 'skipped') return { gaveUp: { reason: 'skipped', count: 1 } }
  const gone = outcome.result === 'gone'
  return {
    outcome: outcome.result === 'retry' ? (outcome.errorClass ?? 'network') : outcome.result,
    seconds: outcome.durationMs / 1000,
    ...(status === 'failed' ? { gaveUp: { reason: gone ? 'gone' : 'exhausted', count: 1 + (report.pendingFailed ?? 0) } } : {}),
    ...(report.endpointDisabled ? { endpointDisabled: true } : {}),
    ...(report.pausedUntil ? { endpointPaused: true } : {}),
  }
}

/** Ids, status codes and error classes only: never a URL (it may carry a token), a body or a secret. */
function logAttempt(logger: Logger, report: AttemptReport): void {
  const { outcome, ...rest } = report
  const fields = { ...rest, ...(outcome === 'skipped' ? { skipped: true } : outcome) }
  if (report.endpointDisabled) logger.warn(fields, 'webhook endpoint answered 410 Gone: disabled')
  else if (outcome !== 'skipped' && outcome.errorClass === 'secret_unopened') {
    logger.error(fields, "webhook not sent: no key in WEBHOOK_SECRET_KEYS opens the endpoint's secret")
  } else if (report.status === 'failed') logger.warn(fields, 'webhook delivery failed for good')
  else if (report.status === 'pending') logger.info(fields, 'webhook attempt failed; retry scheduled')
}
