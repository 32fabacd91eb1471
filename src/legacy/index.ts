import type { MiddlewareHandler } from 'hono'
import type { Authenticator } from '../auth/authenticate'
import { authenticate } from '../auth/middleware'
import { notFound } from '../http/errors'
import { createRouter } from '../http/router'
import type { AppEnv } from '../http/types'
import type { Metrics } from '../observability/metrics'
import { createLegacyHandlers, type LegacyDeps, successorLink } from './legacy.handlers'
import * as routes from './legacy.routes'

/**
 * RFC 9745 `Deprecation`: the date the compatibility routes were deprecated, which is the day they
 * shipped (2026-11-25T00:00:00Z): they exist only to be left. No `Sunset` is sent: when they can
 * go depends on when their callers have moved, which legacy_requests_total shows; a promised date
 * would be a guess clients might rely on.
 */
export const LEGACY_DEPRECATION = '@1795564800'

export type LegacyGateDeps = { enabled: boolean; authenticator: Authenticator; metrics: Metrics }

/** Route templates of the legacy routes, by the paths their middleware is registered on. */
const TEMPLATES = [
  ['/create', '/create'],
  ['/read', '/read'],
  ['/read/:username', '/read/{username}'],
  ['/update/:username', '/update/{username}'],
  ['/delete/:username', '/delete/{username}'],
] as const

/**
 * What runs ahead of the Flask service's routes. The middleware is registered per path (never `*`,
 * which would reach every route of the app once mounted at `/`): off → 404 as if the routes did not
 * exist; on → authenticated like /v1 (scopes are checked by each route), deprecation headers on
 * every answer, errors included, and one count per call in legacy_requests_total by route and
 * caller. app.ts mounts it ahead of the body limit and the 405 check, so that it sees their answers
 * too: a 413 still carries the headers, and while off a wrong method is a 404 like any other.
 */
export function createLegacyGate(deps: LegacyGateDeps) {
  const router = createRouter()
  const auth = authenticate(deps.authenticator)
  for (const [path, template] of TEMPLATES) {
    router.use(path, legacyMiddleware(deps, template), auth)
  }
  return router
}

/** The Flask service's five routes, without their gate (see createLegacyGate). */
export function createLegacyRoutes(deps: LegacyDeps) {
  const handlers = createLegacyHandlers(deps)
  return createRouter()
    .openapi(routes.legacyCreate, handlers.create)
    .openapi(routes.legacyReadAll, handlers.readAll)
    .openapi(routes.legacyReadOne, handlers.readOne)
    .openapi(routes.legacyUpdate, handlers.update)
    .openapi(routes.legacyDelete, handlers.remove)
}

function legacyMiddleware(deps: LegacyGateDeps, template: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!deps.enabled) return notFound(c)
    // This gate's own path parameter, read before the chain goes on: afterwards c.req.param names
    // whichever route ran last (a route's handler, the body limit's mount, or none on a 405).
    const username = c.req.param('username')
    await next()
    c.res.headers.set('Deprecation', LEGACY_DEPRECATION)
    // Handlers that know the user's id name its /v1 URL; otherwise the /v1 route that finds it.
    if (!c.res.headers.has('Link')) c.res.headers.set('Link', successorLink(successorOf(username)))
    deps.metrics.countLegacyRequest(template, c.get('caller')?.name ?? 'unauthenticated')
  }
}

function successorOf(username: string | undefined): string {
  return username === undefined ? '/v1/users' : `/v1/users/by-username/${encodeURIComponent(username)}`
}
