import { createRoute } from '@hono/zod-openapi'
import { requireScope } from '../auth/middleware'
import { problemResponses } from '../http/problem'
import { EventListSchema, ListEventsQuerySchema } from './events.schemas'

/** GET /v1/events: the change feed (API.md "Change events"). */
export const listEvents = createRoute({
  method: 'get',
  path: '/events',
  tags: ['events'],
  operationId: 'listEvents',
  security: [{ bearerAuth: ['events:read'] }],
  middleware: [requireScope('events:read')],
  summary: 'List change events',
  description:
    'Every change to a user, once, in `sequence` order: follow `nextCursor` (store it, pass it as `after`) and you see each ' +
    'event exactly once, never a lower sequence after a higher one, across restarts and instances; per user in ' +
    '`userVersion` order. With `waitSeconds`, a request that finds nothing newer waits until something is or the time is up. ' +
    'Events are kept EVENTS_RETENTION_DAYS (default 30): an older cursor gets 410 `cursor_expired` (start again without ' +
    '`after`, after re-reading the users you keep). A caller holds at most 100 long polls per instance (429 `rate_limited` ' +
    'with `Retry-After` beyond), and an instance 1000 (503).',
  request: { query: ListEventsQuerySchema },
  responses: {
    200: { description: 'A page of events.', content: { 'application/json': { schema: EventListSchema } } },
    ...problemResponses(
      'validation_failed',
      'unauthorized',
      'forbidden',
      'cursor_expired',
      'rate_limited',
      'internal_error',
      'service_unavailable',
    ),
  },
})
