import { createRoute, z } from '@hono/zod-openapi'
import { problem, problemResponses } from '../http/problem'
import { createRouter } from '../http/router'
import { VERSION } from '../version'

const tags = ['operations']
const StatusSchema = z.object({ status: z.literal('ok') }).openapi('HealthStatus')
const LivenessSchema = z
  .object({
    status: z.literal('ok'),
    version: z.string().openapi({ description: "The service's version (the document's info.version).", example: '0.1.0' }),
  })
  .openapi('Liveness')

export const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags,
  operationId: 'healthz',
  summary: 'Liveness: the process is up',
  responses: {
    200: { description: 'Alive, and which version runs.', content: { 'application/json': { schema: LivenessSchema } } },
    ...problemResponses('internal_error'),
  },
})

export const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  tags,
  operationId: 'readyz',
  summary: 'Readiness: MongoDB answers a ping',
  responses: {
    200: { description: 'Ready to serve.', content: { 'application/json': { schema: StatusSchema } } },
    ...problemResponses('internal_error', 'service_unavailable'),
  },
})

/** Something that can be pinged; resolves when the database answered in time, rejects otherwise. */
export type Pingable = { ping(): Promise<void> }

export function createHealthRouter({ database, shuttingDown }: { database: Pingable; shuttingDown?: () => boolean }) {
  return createRouter()
    .openapi(healthz, (c) => c.json({ status: 'ok' as const, version: VERSION }, 200))
    .openapi(readyz, async (c) => {
      if (shuttingDown?.()) {
        return problem(c, 'service_unavailable', 'Shutting down: send new work elsewhere.', { headers: { 'Retry-After': '1' } })
      }
      try {
        await database.ping()
        return c.json({ status: 'ok' as const }, 200)
      } catch {
        return problem(c, 'service_unavailable', 'MongoDB did not answer a ping.', { headers: { 'Retry-After': '1' } })
      }
    })
}
