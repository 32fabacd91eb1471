import type { Context, MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import { CLIENT_CLOSED_REQUEST } from '../http/errors'
import { acceptRequestId } from '../http/request-id'
import { isEndpoint } from '../http/router'
import { setSecurityHeaders } from '../http/security-headers'
import type { AppEnv } from '../http/types'
import type { Logger } from '../logger'
import type { InFlight } from './in-flight'
import type { Metrics } from './metrics'

/**
 * The edge of every request, the first middleware and the last to finish: the request id (taken
 * or made, then echoed), the security headers, one log line and one metrics sample (request id,
 * method, route template, status, duration and caller; bodies and headers are never logged). One
 * middleware rather than three, because each step of Hono's chain costs an async call on every
 * request (issue 18).
 */
export function observe({
  logger,
  metrics,
  inFlight,
  draining,
}: {
  logger: Logger
  metrics: Metrics
  inFlight?: InFlight | undefined
  draining?: (() => boolean) | undefined
}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now()
    const requestId = acceptRequestId(c.req.header('x-request-id'))
    c.set('requestId', requestId)
    const running = inFlight?.begin(c, started)
    try {
      await next()
    } finally {
      if (running) inFlight?.end(running)
    }
    const seconds = (performance.now() - started) / 1000
    const { method } = c.req
    const { headers, status } = c.res
    setSecurityHeaders(headers)
    headers.set('X-Request-Id', requestId)
    // Draining for shutdown: the client must not send another request on this connection, which
    // closes after this answer (Bun and Node both honour the header), instead of losing it.
    if (draining?.()) headers.set('Connection', 'close')
    if (method === 'HEAD') await setHeadLength(c)
    const route = routeTemplate(c)
    metrics.observeRequest(method, route, status, seconds)
    const line = {
      requestId,
      method,
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

/**
 * The log line of a request still running when the shutdown's deadline closes its connection: it
 * gets no answer, and would otherwise leave no line (observe's is written once it is answered).
 */
export function describeUnanswered(c: Context): { requestId: string; method: string; route: string; caller: string } {
  return {
    requestId: String(c.get('requestId') ?? 'unknown'),
    method: c.req.method,
    route: routeTemplate(c),
    caller: (c.get('caller') as { name?: string } | undefined)?.name ?? 'anonymous',
  }
}

/**
 * HEAD: Hono answers it with the GET's headers and no body, and the runtime then sends
 * `Content-Length: 0`, which RFC 9110 §8.6 forbids unless the GET's body is empty. The length the
 * GET would have sent, measured on the answer before Hono drops its body (HEAD only).
 */
export async function setHeadLength(c: Context): Promise<void> {
  if (c.res.body === null || c.res.headers.has('content-length')) return
  c.res.headers.set('Content-Length', String((await c.res.clone().arrayBuffer()).byteLength))
}

/** Route templates by Hono path: a handful of routes, so the cache stays as small as the app. */
const templates = new Map<string, string>()

/**
 * `/v1/users/{id}` for a request that matched a route; `unmatched` for 404s and 405s of no route.
 * What logs and metrics name a request by: a raw path may hold an email or a username.
 */
export function routeTemplate(c: Context): string {
  const route = matchedRoutes(c).findLast(isEndpoint)
  if (!route) return 'unmatched'
  let template = templates.get(route.path)
  if (template === undefined) {
    template = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    templates.set(route.path, template)
  }
  return template
}
