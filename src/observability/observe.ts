import type { Context, MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import { CLIENT_CLOSED_REQUEST } from '../http/errors'
import type { AppEnv } from '../http/types'
import type { Logger } from '../logger'
import type { Metrics } from './metrics'

/**
 * One log line and one metrics sample per request: request id, method, route template, status,
 * duration and caller. Bodies and headers are never logged.
 */
export function observe({ logger, metrics }: { logger: Logger; metrics: Metrics }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now()
    await next()
    const seconds = (performance.now() - started) / 1000
    const route = routeTemplate(c)
    const status = c.res.status
    metrics.observeRequest(c.req.method, route, status, seconds)
    const line = {
      requestId: c.get('requestId'),
      method: c.req.method,
      route,
      status,
      durationMs: Math.round(seconds * 10_000) / 10,
      caller: c.get('caller')?.name ?? 'anonymous',
    }
    if (status >= 500) logger.error(line, 'request failed')
    else if (status === CLIENT_CLOSED_REQUEST) logger.info(line, 'client closed request')
    else logger.info(line, 'request')
  }
}

/** Route templates by Hono path: a handful of routes, so the cache stays as small as the app. */
const templates = new Map<string, string>()

/**
 * `/v1/users/{id}` for a request that matched a route; `unmatched` for 404s and 405s of no route.
 * What logs and metrics name a request by: a raw path may hold an email or a username.
 */
export function routeTemplate(c: Context): string {
  const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL')
  if (!route) return 'unmatched'
  let template = templates.get(route.path)
  if (template === undefined) {
    template = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    templates.set(route.path, template)
  }
  return template
}
