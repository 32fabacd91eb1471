import { createHash, timingSafeEqual } from 'node:crypto'
import { createRoute, z } from '@hono/zod-openapi'
import { problem, problemResponses } from '../http/problem'
import { createRouter } from '../http/router'
import type { Metrics } from '../observability/metrics'

export const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  operationId: 'metrics',
  summary: 'Prometheus metrics',
  description: 'Public unless METRICS_TOKEN is set; then it needs `Authorization: Bearer <METRICS_TOKEN>`.',
  responses: {
    200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: z.string() } } },
    ...problemResponses('unauthorized', 'internal_error'),
  },
})

export function createMetricsRouter({ metrics, token }: { metrics: Metrics; token?: string | undefined }) {
  const expected = token ? digest(token) : undefined
  return createRouter().openapi(metricsRoute, async (c) => {
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
