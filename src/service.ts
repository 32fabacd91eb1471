import { createApp } from './app'
import { createAuthenticator } from './auth/authenticate'
import { type Config, ConfigError, configWarnings, loadConfig } from './config'
import { describeConfig } from './config.env'
import type { DatabaseHandle, IndexBuild } from './db/calls'
import { type EmbeddedDatabase, startEmbeddedDatabase } from './db/embedded'
import { connectDatabase } from './db/mongo'
import { withDeadline } from './deadline'
import { createRelay } from './events/events.relay'
import { createLogger, type Logger } from './logger'
import { createInFlight, type InFlight } from './observability/in-flight'
import { createMetrics, type Metrics } from './observability/metrics'
import { describeUnanswered } from './observability/observe'
import { assertPortFree } from './startup'
import { createStores, type Stores, storesOptionsOf } from './stores'
import type { PasswordHasher } from './users/passwords'
import { createHashingPool } from './users/passwords.pool'
import { RUNTIME, VERSION } from './version'
import { startWebhookDelivery } from './webhooks/webhooks.runner'

/**
 * What the Bun and Node entry points share: configuration, the database (MongoDB, or the
 * embedded one in development), indexes, the app, and an orderly shutdown. Each entry point
 * brings its own HTTP server and argon2id implementation.
 */
export type Service = {
  config: Config
  logger: Logger
  app: ReturnType<typeof createApp>
  /** The app's metrics, for the metrics listener when METRICS_PORT is set. */
  metrics: Metrics
  /** The startup line, once the entry point listens: where, what runs, and what is in effect. */
  listening(urls: { url: string; metricsUrl?: string }): void
  /** At the shutdown's deadline, before the connections close: one line, and one per request cut. */
  cutAtDeadline(): void
  /** From now on /readyz answers 503, so load balancers stop sending new work; all else is still served. */
  unready(): void
  /** Unready, and the webhook workers start no new attempt: the drain begins. */
  beginShutdown(): void
  /**
   * Stops the background work and closes the MongoDB client (SHUTDOWN_TIMEOUT_MS at most), then
   * stops the embedded database if one was started.
   */
  close(): Promise<void>
}

export async function startService(hasher: PasswordHasher): Promise<Service> {
  const config = loadConfigOrExit()
  // Every argon2 job of the app goes through one bounded pool, verifications first (issue 13).
  const passwords = createHashingPool(hasher, config.passwordHashing)
  const logger = createLogger(config)
  // Mistyped variables and production's accepted risks: one line each, names only, never values.
  for (const warning of configWarnings(config)) logger.warn(warning.fields, warning.message)
  // Before the embedded database: a second instance must not start a second database on the same data.
  await assertPortFree(config.host, config.port)
  if (config.metricsPort) await assertPortFree(config.host, config.metricsPort, 'METRICS_PORT')
  const { embedded, mongodbUri } = await databaseUri(config, logger)
  const database = await connectDatabase(mongodbUri, config.mongodbDb, {
    timeoutMs: config.dbTimeoutMs,
    onReset: (reason) => logger.warn({}, reason),
    onIndexBuild: (build) => logIndexBuild(logger, build),
  })
  const stores = createStores(database, {
    ...storesOptionsOf(config),
    onSweepError: (error) => logger.warn({ err: error }, 'sweep failed'),
  })
  await stores.open()
  await database.indexBuildsDone()
  let shuttingDown = false
  let draining = false
  const metrics = createMetrics({
    poolStats: database.poolStats,
    hashingStats: passwords.stats,
    webhooksWaiting: () => stores.webhooks.deliveries.waiting(),
  })
  const authenticator = createAuthenticator(config.auth)
  if (!authenticator.enabled) warnAuthOff(logger, config)
  const inFlight = createInFlight()
  const app = createApp({
    ...stores,
    config,
    passwords,
    database,
    logger,
    metrics,
    authenticator,
    shuttingDown: () => shuttingDown,
    draining: () => draining,
    inFlight,
  })
  const background = startBackgroundWork({ config, database, stores, logger, metrics })
  return {
    config,
    logger,
    app,
    metrics,
    ...entryLogs(config, logger, inFlight),
    unready: () => {
      shuttingDown = true
    },
    beginShutdown: () => {
      shuttingDown = true
      draining = true
      void background.stopWebhooks()
    },
    close: async () => {
      await closeWithin(Math.max(config.shutdownTimeoutMs, MIN_CLOSING_MS), logger, async () => {
        await background.stop()
        stores.close()
        await database.close()
      })
      await embedded?.stop()
    },
  }
}

/**
 * An index a start builds over documents (a release that adds one) can take minutes on MongoDB
 * over a large collection, before the service listens: said at info, with the documents, so the
 * wait is explained. One built over none (a first start, about 30 of them) is done at once: at
 * debug, so a first start's log is not a page of them.
 */
function logIndexBuild(logger: Logger, { durationMs, ...build }: IndexBuild) {
  const level = build.documents === 0 ? 'debug' : 'info'
  if (durationMs === undefined) logger[level](build, 'building an index: the service listens once it is built')
  else logger[level]({ ...build, durationMs }, 'index built')
}

/** What both entry points log of the service's life: its startup line, and the requests a deadline cuts. */
function entryLogs(config: Config, logger: Logger, inFlight: InFlight): Pick<Service, 'listening' | 'cutAtDeadline'> {
  return {
    listening: (urls) =>
      logger.info(
        {
          ...urls,
          version: VERSION,
          env: config.env,
          // What is in effect, for the operator to check: auth sources, /metrics, the database (no secrets).
          ...describeConfig(config),
          runtime: `${RUNTIME.name} ${RUNTIME.version}`,
        },
        'users-service listening',
      ),
    cutAtDeadline: () => {
      logger.warn({ deadlineMs: config.shutdownTimeoutMs }, 'requests still running at the shutdown deadline: closing them')
      for (const line of inFlight.running(describeUnanswered))
        logger.warn(line, 'request cut at the shutdown deadline: no answer')
    },
  }
}

/** Only reachable outside production: config refuses production without auth. */
function warnAuthOff(logger: Logger, config: Config): void {
  logger.warn(
    { env: config.env },
    '!!! AUTH IS OFF: every caller may do everything. Set AUTH_API_KEYS or AUTH_JWT_SECRET/AUTH_JWKS_URL before exposing this service. !!!',
  )
}

/** MONGODB_URI, or (development) the embedded database's, started here. */
async function databaseUri(config: Config, logger: Logger): Promise<{ embedded?: EmbeddedDatabase; mongodbUri: string }> {
  if (config.mongodbUri) return { mongodbUri: config.mongodbUri }
  const embedded = await startEmbeddedDatabase({
    dataDir: config.devDbDataDir,
    onProgress: (message) => logger.info({}, message),
  })
  logger.warn(
    { uri: embedded.uri, dataDir: config.devDbDataDir },
    'MONGODB_URI is not set: using the embedded FerretDB database (development only)',
  )
  return { embedded, mongodbUri: embedded.uri }
}

/** Closing's time at least, whatever SHUTDOWN_TIMEOUT_MS says (0 is valid): a lease release on a database that answers. */
const MIN_CLOSING_MS = 2000

/**
 * Runs `close`, for `ms` at most: with the database gone by then, the relay's last call and its
 * lease's release would each wait out their call deadline (11 s by default), past an orchestrator's
 * patience. What is cut short is safe to leave: the next lease holder finishes a batch left half
 * done, and takes the lease when it lapses.
 */
async function closeWithin(ms: number, logger: Logger, close: () => Promise<void>): Promise<void> {
  if ((await withDeadline(close(), ms)) === 'timed out') {
    logger.warn({ deadlineMs: ms }, 'background work and the database client still closing at the deadline: exiting')
  }
}

/**
 * The work off the request path, on every instance: the events relay (the instance holding its
 * lease moves the events, src/events/events.relay.ts), the webhook dispatcher (one instance at a
 * time) and this instance's delivery workers.
 */
function startBackgroundWork(deps: {
  config: Config
  database: DatabaseHandle
  stores: Stores
  logger: Logger
  metrics: Metrics
}) {
  const { config, database, stores, logger } = deps
  if (config.env === 'production' && config.webhooks.allowPrivateTargets) {
    logger.warn({}, 'WEBHOOK_ALLOW_PRIVATE_TARGETS=true: webhooks may target internal hosts (the SSRF guard is off)')
  }
  const webhookDelivery = startWebhookDelivery({
    database,
    stores: stores.webhooks,
    config: config.webhooks,
    logger,
    metrics: deps.metrics,
  })
  const relay = createRelay({
    database,
    outbox: stores.outbox,
    events: stores.events,
    logger,
    metrics: deps.metrics,
    retentionDays: config.eventsRetentionDays,
    // What receivers answered about an erased user's events goes with the events' values.
    forgetUser: (userId) => stores.webhooks.deliveries.forgetUser(userId),
    // Deliveries start as soon as this instance publishes (other instances' dispatcher looks every 250 ms).
    onPublished: () => webhookDelivery.published(),
  })
  relay.start()
  let webhooksStopped: Promise<void> | undefined
  // Stopped alongside the HTTP drain: no new attempt starts, those in flight finish (each within
  // WEBHOOK_TIMEOUT_MS). One cut short by the deadline is sent again by another instance when its
  // claim runs out.
  const stopWebhooks = () => (webhooksStopped ??= webhookDelivery.stop())
  return {
    stopWebhooks,
    async stop() {
      // Side by side: the relay's stop (which releases its lease, so another instance takes over
      // at once) must not wait behind webhook attempts, which may use all of closing's time (a review).
      await Promise.all([withDeadline(stopWebhooks(), config.shutdownTimeoutMs), relay.stop()])
    },
  }
}

/** A configuration error is the operator's to fix: print every bad variable and exit 1. */
function loadConfigOrExit(): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(1)
  }
}

/** What stopOnSignals runs: `unready` at the first signal, `stop` once `delayMs` has passed. */
export type Shutdown = { delayMs: number; unready(): void; stop(): Promise<void> }

/**
 * On SIGTERM or SIGINT: unready at once, everything else still served for SHUTDOWN_DELAY_MS (the
 * time a load balancer takes to stop routing here: requests it routes meanwhile, on new or kept-alive
 * connections, are answered), then `stop`, then exit 0. A second signal during the delay ends it
 * there; later ones change nothing. The entry points install it once they listen, in place of
 * exitOnSignalsWhileStarting's handlers.
 */
export function stopOnSignals(logger: Logger, shutdown: Shutdown): void {
  let signalled = false
  let endDelay: (() => void) | undefined
  const handle = (signal: NodeJS.Signals) => {
    if (signalled) {
      if (endDelay) logger.info({ signal }, 'second signal: shutdown delay cut short')
      endDelay?.()
      return
    }
    signalled = true
    shutdown.unready()
    if (shutdown.delayMs > 0) {
      logger.info({ signal, delayMs: shutdown.delayMs }, 'shutting down: unready now, serving on for the delay, then draining')
    } else {
      logger.info({ signal }, 'shutting down')
    }
    const delay = new Promise<void>((done) => {
      const timer = setTimeout(done, shutdown.delayMs)
      endDelay = () => {
        clearTimeout(timer)
        done()
      }
    })
    delay
      .then(() => {
        endDelay = undefined
        return shutdown.stop()
      })
      .then(
        () => process.exit(0),
        (error) => {
          logger.error({ err: error }, 'shutdown failed')
          process.exit(1)
        },
      )
  }
  process.on('SIGTERM', handle)
  process.on('SIGINT', handle)
}
