import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { PoolStats } from '../db/pool'
import { orAfter } from '../deadline'
import { RUNTIME, VERSION } from '../version'
import { registerRequestMetrics } from './request-metrics'

/**
 * Bounds of http_request_duration_seconds' buckets, in seconds: from a cached point read (~1 ms) to
 * a slow password hash or a scan on a big collection.
 */
export const REQUEST_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** The argon2 pool's figures (src/users/passwords.pool.ts): running now; waiting now and refused so far, by lane. */
export type HashingStats = { running: number; queued: Record<string, number>; rejected: Record<string, number> }

/**
 * The label values of counters an alert watches from zero (`increase(...) > 0`): each series is
 * exported at 0 from the start, so the first increment after a restart is an increase too.
 */
const RATE_LIMITS = ['login', 'ip', 'client'] as const
const GAVE_UP_REASONS = ['exhausted', 'gone', 'skipped'] as const

export type Metrics = {
  /** Records one finished request; `route` is the route template, never the raw path. */
  observeRequest(method: string, route: string, status: number, seconds: number): void
  /** Counts one call of a Flask-compatibility route (`/read/{username}`) by the caller's name. */
  countLegacyRequest(route: string, caller: string): void
  /** Counts one credential check refused with 429, by the limit that refused it (three values). */
  countRateLimited(limit: (typeof RATE_LIMITS)[number]): void
  /** Counts events the relay committed, with each one's lag (relay time minus occurredAt, seconds). */
  countEventsRelayed(count: number, lagsSeconds: readonly number[]): void
  /** Counts a user whose replayed outbox did not match what is stored (its events held back: a bug). */
  countRelayInvariantFailure(): void
  /** How many GET /v1/events long polls this instance holds now. */
  setEventsWaiting(count: number): void
  /** Counts one webhook attempt of this instance's delivery workers, and what it finished (src/webhooks/webhooks.runner.ts). */
  countWebhookAttempt(sample: WebhookAttemptSample): void
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>
  contentType: string
}

/**
 * One webhook attempt as the metrics see it: labels from bounded sets only, never an endpoint's
 * URL or id, an event or a delivery id.
 */
export type WebhookAttemptSample = {
  /**
   * `delivered` (2xx), `gone` (410) or the failure's class (`http_status`, `timeout`, `connection`...);
   * absent when nothing was sent (the endpoint was disabled meanwhile, or the event is past retention).
   */
  outcome?: string
  /** The attempt's duration, DNS to the last byte read. */
  seconds?: number
  /** Deliveries this attempt ended as failed for good, and why. */
  gaveUp?: { reason: (typeof GAVE_UP_REASONS)[number]; count: number }
  /** The attempt's 410 disabled its endpoint. */
  endpointDisabled?: boolean
  /** The attempt opened its endpoint's circuit breaker on this instance. */
  endpointPaused?: boolean
}

/**
 * A caller as a metric label, from a bounded set: the name of a configured API key, `jwt` for every
 * JWT caller (subjects, `jwt:<sub>`, are as many as the issuer mints: a label per subject would let
 * tokens grow the metrics without bound, and would publish the subjects), or the names of the
 * unauthenticated cases. API key names cannot contain `:`.
 */
function callerLabel(caller: string): string {
  return caller.startsWith('jwt:') ? 'jwt' : caller
}

/**
 * One prom-client registry per app (no global default registry, so tests and two apps in one
 * process stay apart): HTTP request counts and durations by method, route template and status,
 * MongoDB pool gauges, and prom-client's process metrics.
 */
export function createMetrics(
  options: {
    poolStats?: () => PoolStats
    hashingStats?: () => HashingStats
    /** Webhook deliveries waiting to be sent, read at each scrape (a database call). */
    webhooksWaiting?: () => Promise<number>
  } = {},
): Metrics {
  const registry = new Registry()
  // The event-loop lag monitor samples every 100 ms, not prom-client's default 10 ms: on Bun the
  // default cost 5.4 ms of CPU per second of an idle process (1.6 ms at 100 ms), which at low
  // request rates was most of the service's CPU per request (issue #6); measured again on
  // 2026-12-01, about 3 ms a second at 100 ms, most of an idle service's CPU (docs/performance.md).
  // Kept for the lag percentiles: a stall longer than the interval delays the next sample.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 })
  registerBuildInfo(registry)
  const requests = registerRequestMetrics(registry, REQUEST_DURATION_BUCKETS)
  // Who still calls the Flask service's routes: the compatibility layer can go once this stops growing.
  // The caller label is bounded (see callerLabel): API key names are configured, JWT subjects are not.
  const legacyRequests = new Counter({
    name: 'legacy_requests_total',
    help: 'Calls of the deprecated Flask-compatibility routes, by route and caller.',
    labelNames: ['route', 'caller'] as const,
    registers: [registry],
  })
  // Which limit refuses credential checks: `client` growing means a front end shares one key
  // without passing end users' addresses (docs/api.md#checking-credentials).
  const rateLimited = new Counter({
    name: 'auth_verify_rate_limited_total',
    help: 'Credential checks refused with 429, by the limit that refused them (login, ip, client).',
    labelNames: ['limit'] as const,
    registers: [registry],
  })
  for (const limit of RATE_LIMITS) rateLimited.inc({ limit }, 0)
  const events = registerEventMetrics(registry)
  const countWebhookAttempt = registerWebhookMetrics(registry)
  const { poolStats } = options
  if (poolStats) {
    const gauge = (name: string, help: string, read: (stats: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read(poolStats()))
        },
      })
    gauge('mongodb_pool_connections', 'Open connections in the MongoDB driver pool.', (s) => s.open)
    gauge('mongodb_pool_checked_out_connections', 'Connections in use by an operation.', (s) => s.checkedOut)
    gauge('mongodb_pool_wait_queue_size', 'Operations waiting for a connection.', (s) => s.waiting)
    // A count that only grows: a counter (rate() and increase() handle a restart's reset), set at each scrape.
    new Counter({
      name: 'mongodb_pool_checkout_failures_total',
      help: 'Failed connection checkouts since start.',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(poolStats().checkoutFailures)
      },
    })
  }
  if (options.hashingStats) registerHashingMetrics(registry, options.hashingStats)
  const { webhooksWaiting } = options
  if (webhooksWaiting) {
    new Gauge({
      name: 'webhook_deliveries_waiting',
      help: 'Webhook deliveries queued (pending, in flight included), all endpoints and instances; NaN when the database did not answer within 1 s.',
      registers: [registry],
      async collect() {
        this.set(await withinScrape(webhooksWaiting()))
      },
    })
  }
  return {
    observeRequest: requests.observe,
    countLegacyRequest: (route, caller) => legacyRequests.inc({ route, caller: callerLabel(caller) }),
    countRateLimited: (limit) => rateLimited.inc({ limit }),
    ...events,
    countWebhookAttempt,
    render: () => registry.metrics(),
    contentType: registry.contentType,
  }
}

/** How long a scrape waits for a figure read from the database. */
const SCRAPE_READ_MS = 1000

/**
 * `read`'s figure, or NaN when it fails or takes over SCRAPE_READ_MS: a scrape while the database
 * is down or slow still answers at once with every other series (Prometheus gives a whole scrape
 * 10 s by default, less than a database call's deadline), and never with a stale figure.
 */
function withinScrape(read: Promise<number>): Promise<number> {
  return orAfter(
    read.catch(() => Number.NaN),
    SCRAPE_READ_MS,
    Number.NaN,
  )
}

/** The events relay (src/events/events.relay.ts): what it moved, how late, and what it held back. */
function registerEventMetrics(
  registry: Registry,
): Pick<Metrics, 'countEventsRelayed' | 'countRelayInvariantFailure' | 'setEventsWaiting'> {
  const relayed = new Counter({
    name: 'events_relayed_total',
    help: 'Change events moved from the outboxes into the feed by this instance.',
    registers: [registry],
  })
  const lag = new Histogram({
    name: 'events_relay_lag_seconds',
    help: 'Time from a change to its event being visible in the feed, in seconds.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  })
  const invariantFailures = new Counter({
    name: 'events_relay_invariant_failures_total',
    help: "Users whose replayed outbox did not match the stored user: their events are held back (a bug; see the relay's error log).",
    registers: [registry],
  })
  const waiting = new Gauge({
    name: 'events_feed_waiting_requests',
    help: 'GET /v1/events long polls this instance holds now (at most 1000, then 503).',
    registers: [registry],
  })
  return {
    setEventsWaiting: (count) => waiting.set(count),
    countEventsRelayed(count, lagsSeconds) {
      relayed.inc(count)
      for (const seconds of lagsSeconds) lag.observe(Math.max(0, seconds))
    },
    countRelayInvariantFailure: () => invariantFailures.inc(),
  }
}

/** Webhook delivery (src/webhooks/webhooks.workers.ts): what this instance's attempts came to. */
function registerWebhookMetrics(registry: Registry): Metrics['countWebhookAttempt'] {
  const attempts = new Counter({
    name: 'webhook_attempts_total',
    help: 'Webhook requests sent by this instance, by outcome: delivered (2xx), gone (410), or the class of the failure.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'webhook_attempt_duration_seconds',
    help: 'Duration of each webhook request, DNS to the last byte read, in seconds.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
    registers: [registry],
  })
  const gaveUp = new Counter({
    name: 'webhook_deliveries_failed_total',
    help: 'Webhook deliveries failed for good, by reason: exhausted (the retry schedule ran out), gone (410), skipped (endpoint disabled or event expired before sending).',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  for (const reason of GAVE_UP_REASONS) gaveUp.inc({ reason }, 0)
  const disabled = new Counter({
    name: 'webhook_endpoints_disabled_total',
    help: 'Webhook endpoints disabled because they answered 410 Gone.',
    registers: [registry],
  })
  const paused = new Counter({
    name: 'webhook_endpoint_pauses_total',
    help: "Failed webhook attempts that paused their endpoint's deliveries on this instance (its circuit breaker: 10 failures in a row, then each further one).",
    registers: [registry],
  })
  return (sample) => {
    if (sample.outcome !== undefined) attempts.inc({ outcome: sample.outcome })
    if (sample.seconds !== undefined) duration.observe(sample.seconds)
    if (sample.gaveUp && sample.gaveUp.count > 0) gaveUp.inc({ reason: sample.gaveUp.reason }, sample.gaveUp.count)
    if (sample.endpointDisabled) disabled.inc()
    if (sample.endpointPaused) paused.inc()
  }
}

/** The argon2 pool (src/users/passwords.pool.ts): how busy it is, and what it refused. */
function registerHashingMetrics(registry: Registry, stats: () => HashingStats): void {
  new Gauge({
    name: 'password_hash_running',
    help: 'argon2 jobs (hash or verify) running now.',
    registers: [registry],
    collect() {
      this.set(stats().running)
    },
  })
  new Gauge({
    name: 'password_hash_queued',
    help: 'argon2 jobs waiting for a slot, by lane (verify runs first).',
    labelNames: ['lane'] as const,
    registers: [registry],
    collect() {
      for (const [lane, count] of Object.entries(stats().queued)) this.set({ lane }, count)
    },
  })
  new Counter({
    name: 'password_hash_rejected_total',
    help: 'argon2 jobs refused with 503 because their lane was full, by lane.',
    labelNames: ['lane'] as const,
    registers: [registry],
    collect() {
      // The pool keeps the count; a counter set to it at each scrape.
      this.reset()
      for (const [lane, count] of Object.entries(stats().rejected)) this.inc({ lane }, count)
    },
  })
}

/**
 * `users_service_build_info{version, runtime, runtime_version} 1`: which build and runtime serve.
 * On Bun, prom-client's `nodejs_version_info` would report the Node version Bun emulates
 * (`v26.3.0` with Bun 1.4.5), which is not what runs: it is left out there.
 */
function registerBuildInfo(registry: Registry): void {
  new Gauge({
    name: 'users_service_build_info',
    help: 'The running build: service version, runtime (bun or node) and runtime version; always 1.',
    labelNames: ['version', 'runtime', 'runtime_version'] as const,
    registers: [registry],
  }).set({ version: VERSION, runtime: RUNTIME.name, runtime_version: RUNTIME.version }, 1)
  if (RUNTIME.name !== 'node') registry.removeSingleMetric('nodejs_version_info')
}
