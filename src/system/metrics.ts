import { createHash, timingSafeEqual } from 'node:crypto'
import { createRoute, z } from '@hono/zod-openapi'
import { notFound } from '../http/errors'
import { problem, problemResponses } from '../http/problem'
import { createRouter } from '../http/router'
import type { Metrics } from '../observability/metrics'
import { setHeadLength } from '../observability/observe'

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  operationId: 'metrics',
  summary: 'Prometheus metrics',
  description:
    'Needs `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set. With METRICS_PORT set, served on that port ' +
    'only (a listener of its own) and 404 here. Production refuses to start with public metrics on the service port ' +
    'unless METRICS_PUBLIC=true.',
  responses: {
    200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: z.string() } } },
    ...problemResponses('unauthorized', 'internal_error'),
  },
})

export type MetricsRouterDeps = {
  metrics: Metrics
  token?: string | undefined
  /** True when /metrics is served on a listener of its own (METRICS_PORT): here it answers 404. */
  elsewhere?: boolean
}

export function createMetricsRouter({ metrics, token, elsewhere = false }: MetricsRouterDeps) {
  const expected = token ? digest(token) : undefined
  const router = createRouter()
  if (elsewhere) router.use(metricsRoute.path, async (c) => notFound(c))
  return router.openapi(metricsRoute, async (c) => {
    if (expected) {
      const offered = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1]
      // Compared as fixed-length digests, in constant time.
      if (!offered || !timingSafeEqual(digest(offered), expected)) {
        return problem(c, 'unauthorized', 'The metrics need the configured bearer token.', {
          headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
        })
      }
    }
    return c.text(await metrics.render(), 200, { 'Content-Type': metrics.contentType })
  })
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * The app of the metrics listener (METRICS_PORT): GET /metrics and nothing else, so the port can be
 * opened to the cluster's scraper only while the service port faces callers.
 */
export function createMetricsApp(deps: Omit<MetricsRouterDeps, 'elsewhere'>) {
  const app = createRouter()
  // The service's edge middleware is not on this listener: HEAD's length, as it gives it (RFC 9110 §8.6).
  app.use(async (c, next) => {
    await next()
    if (c.req.method === 'HEAD') await setHeadLength(c)
  })
  app.route('/', createMetricsRouter(deps))
  app.notFound(notFound)
  return app
}
