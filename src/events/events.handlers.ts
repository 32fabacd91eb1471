import type { Handler } from '../http/handler'
import { problem } from '../http/problem'
import { holdingAnswer } from '../http/request-target'
import type { EventsFeed } from './events.feed'
import type { listEvents } from './events.routes'

/** GET /v1/events: the query to the feed, its outcome back to HTTP. */
export function createEventsHandlers(feed: EventsFeed) {
  const listEventsHandler: Handler<typeof listEvents> = async (c) => {
    const query = c.req.valid('query')
    if (query.waitSeconds > 0) holdingAnswer(c)
    const outcome = await feed.list(query, c.req.raw.signal, c.get('caller')?.name)
    switch (outcome.kind) {
      case 'page':
        return c.json(outcome.page, 200)
      case 'cursor_expired':
        return problem(
          c,
          'cursor_expired',
          `Events up to sequence ${outcome.prunedThrough} are past their retention; cursor ${outcome.after} is older. ` +
            'Start again without `after` (re-read the users you keep first: changes after your cursor may be gone).',
        )
      case 'too_many_waiting':
        return problem(
          c,
          'rate_limited',
          `This caller already holds ${outcome.max} long polls on this instance; retry once one has answered, or poll without waitSeconds.`,
          { headers: { 'Retry-After': '1' } },
        )
      case 'ahead':
        return problem(c, 'validation_failed', 'The request query parameter is invalid: see errors.', {
          errors: [
            {
              location: 'query',
              pointer: '/after',
              code: 'ahead_of_feed',
              message: `is ahead of the feed (its last sequence is ${outcome.lastSequence}): pass a nextCursor this feed returned`,
            },
          ],
        })
    }
  }
  return { listEvents: listEventsHandler }
}
