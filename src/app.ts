import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import type { Authenticator } from './auth/authenticate'
import { authenticate } from './auth/middleware'
import type { Config } from './config'
import type { FailedAttempts } from './credentials/failed-attempts'
import { createVerifyRouter } from './credentials/verify'
import { createEventsRouter } from './events'
import { createEventsFeed, type FeedOptions } from './events/events.feed'
import type { EventsStore } from './events/events.model'
import { handleError, payloadTooLarge } from './http/errors'
import { handleDomainErrors } from './http/outcomes'
import { asMiddleware, createRouter } from './http/router'
import type { AppEnv } from './http/types'
import { notFoundOrNotAllowed } from './http/unrouted'
import { forgettingGoneUsers, type IdempotencyStore } from './idempotency/idempotency'
import { createLegacyGate, createLegacyRoutes } from './legacy'
import type { Logger } from './logger'
import type { InFlight } from './observability/in-flight'
import type { Metrics } from './observability/metrics'
import { observe, routeTemplate } from './observability/observe'
import { generateOpenApi } from './openapi'
import { createScimGate, createScimRouter, SCIM_BASE } from './scim'
import { createDocsRouter } from './system/docs'
import { createHealthRouter, type Pingable } from './system/health'
import { createMetricsRouter } from './system/metrics'
import { createUsersRouter } from './users'
import type { PasswordHasher } from './users/passwords'
import type { ForgetUser } from './users/users.lifecycle'
import type { UsersRepository } from './users/users.model'
import { createUsersService } from './users/users.service'
import { createWebhooksRouter } from './webhooks'
import type { WebhookStores } from './webhooks/webhooks.model'

/**
 * Everything the app needs from outside; tests pass real ones built on a real database. The
 * stores are interfaces (src/stores.ts builds them): no driver type reaches the app's declarations.
 */
export type AppDeps = {
  users: UsersRepository
  failedAttempts: FailedAttempts
  idempotency: IdempotencyStore
  webhooks: WebhookStores
  /** The change events (the feed reads them; an erase empties the user's). */
  events: EventsStore
  config: Pick<
    Config,
    'bodyLimitBytes' | 'metricsToken' | 'metricsPort' | 'corsOrigins' | 'auth' | 'legacyRoutes' | 'userRetentionDays' | 'webhooks'
  >
  passwords: PasswordHasher
  database: Pingable
  logger: Logger
  metrics: Metrics
  authenticator: Authenticator
  /** True once the process is shutting down: readiness then answers 503. */
  shuttingDown?: () => boolean
  /** True once the drain has begun (after SHUTDOWN_DELAY_MS): answers say `Connection: close`. */
  draining?: () => boolean
  /** The time the users service judges expiry by (a disable's end); tests pass the stores' clock. */
  clock?: () => Date
  /** The feed's long polls: how often the watermark is read while someone waits, and how many may wait. */
  eventsFeed?: Pick<FeedOptions, 'pollEveryMs' | 'maxWaiters' | 'maxWaitersPerCaller'>
  /** The requests being answered, for the shutdown's log of those it cuts (src/service.ts). */
  inFlight?: InFlight
}

/** Builds the HTTP app. No I/O happens here: connecting and listening belong to the entry points. */
export function createApp(deps: AppDeps) {
  const app = createRouter()
  let document: object | undefined
  const { users, feed } = createServices(deps)

  // Middleware adds no routes, so it is registered apart from the chain that builds the type.
  // Request id, security headers, request log and metrics: one middleware, ahead of everything.
  app.use(observe(deps))
  if (deps.config.corsOrigins.length > 0) app.use(corsFor(deps.config.corsOrigins))
  // Ahead of the body limit and the 405 check: the compatibility routes' headers, count and off switch
  // apply to those answers too (issue 8).
  app.route('/', createLegacyGate({ ...deps, enabled: deps.config.legacyRoutes }))
  // SCIM's gate likewise (issue 17): its token and scope first, and every answer under /scim/v2 in SCIM's error format.
  app.route('/', createScimGate(deps))
  // On the methods whose routes read a body only: a step of the chain costs every request it is on (issue 18).
  app.on(BODY_METHODS, '/*', asMiddleware(limitBodies(deps.config.bodyLimitBytes)))
  app.use('/v1/*', authenticate(deps.authenticator))

  const routes = app
    .route('/v1', createUsersRouter({ users, idempotency: forgettingGoneUsers(deps.idempotency, users.isGone) }))
    .route(
      '/v1',
      createVerifyRouter({
        users,
        failedAttempts: deps.failedAttempts,
        limits: deps.config.auth.failures,
        metrics: deps.metrics,
      }),
    )
    .route('/v1', createWebhooksRouter(deps))
    .route('/v1', createEventsRouter({ feed }))
    .route('/', createHealthRouter(deps))
    .route(
      '/',
      createMetricsRouter({
        metrics: deps.metrics,
        token: deps.config.metricsToken,
        elsewhere: deps.config.metricsPort !== undefined,
      }),
    )
    .route('/', createDocsRouter({ document: () => (document ??= generateOpenApi(app)) }))

  // The Flask service's routes (issue 8): mounted outside the chain on purpose, so they are in the
  // document (always, deprecated, under `legacy`) but not in AppType: the typed client is for /v1.
  // They answer 404 unless LEGACY_ROUTES=true (their gate, mounted above, decides).
  app.route('/', createLegacyRoutes({ users }))
  // SCIM 2.0 for identity providers (issue 17): in the document, outside AppType for the same reason.
  app.route(SCIM_BASE, createScimRouter({ users }))

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description:
      'A static API key or a JWT. Scopes: users:read (GET, verify), users:write (create, update, delete), users:admin (on top of write: set a role other than user, or status; write privileged or disabled users; read deleted users, restore, erase), scim (/scim/v2 only, with the authority of users:admin there), events:read (GET /v1/events, the change feed), webhooks:manage (webhook endpoints, their secrets and deliveries).',
  })
  // 404, or 405 for a path whose routes take other methods: after the gates and authentication, as a route would be.
  app.notFound(notFoundOrNotAllowed(() => app.routes))
  app.onError(
    handleDomainErrors(
      handleError((error, c) =>
        deps.logger.error(
          { err: error, requestId: c.get('requestId'), method: c.req.method, route: routeTemplate(c) },
          'unhandled error',
        ),
      ),
    ),
  )
  return routes
}

/** The one users service every surface calls, and the change feed. */
function createServices(deps: AppDeps) {
  // What webhook receivers answered about the user's events (they may echo its values).
  const deliveries: ForgetUser = (subject) => deps.webhooks.deliveries.forgetUser(subject.userId)
  // Earlier events keep ids only (the relay scrubs again when it meets the erased user).
  const events: ForgetUser = (subject) => deps.events.forgetUser(subject.userId)
  // The records of the user's create: a keyed create may keep its answer while the erase runs.
  const idempotency: ForgetUser = (subject) => deps.idempotency.forgetUser(subject.userId)
  const users = createUsersService({
    users: deps.users,
    passwords: deps.passwords,
    lifecycle: {
      retentionDays: deps.config.userRetentionDays,
      // Every other store that keeps a user's personal values: an erase scrubs them all.
      forget: [idempotency, (subject) => deps.failedAttempts.forgetSubjects(subject), deliveries, events],
      // A relay batch, a webhook attempt or a keyed create running beside the erase may refill
      // these: once more after the tombstone (a create's record written later finds the tombstone:
      // forgettingGoneUsers).
      forgetAgain: [idempotency, deliveries, events],
    },
    ...(deps.clock ? { clock: deps.clock } : {}),
  })
  const feed = createEventsFeed(deps.events, {
    ...deps.eventsFeed,
    onWaiting: (count) => deps.metrics.setEventsWaiting(count),
    ...(deps.shuttingDown ? { shuttingDown: deps.shuttingDown } : {}),
  })
  return { users, feed }
}

/** The app's type, route by route: what the typed client is built from. */
export type AppType = ReturnType<typeof createApp>

/** Cross-origin access for browser apps on the configured origins only (none by default). */
function corsFor(origins: string[]): MiddlewareHandler<AppEnv> {
  return cors({
    origin: origins,
    allowMethods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'X-Request-Id'],
    exposeHeaders: ['ETag', 'Location', 'Retry-After', 'X-Request-Id', 'Idempotent-Replayed'],
    maxAge: 600,
  })
}

/** The methods whose routes read a request body (and declare 413); other bodies are never read. */
const BODY_METHODS = ['POST', 'PUT', 'PATCH']

/**
 * Rejects bodies over the limit before anything parses them: by Content-Length when present,
 * otherwise while streaming.
 */
function limitBodies(maxSize: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({ maxSize, onError: (c) => payloadTooLarge(c, maxSize) })
}
