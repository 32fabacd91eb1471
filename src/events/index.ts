import { createRouter } from '../http/router'
import type { EventsFeed } from './events.feed'
import { createEventsHandlers } from './events.handlers'
import * as routes from './events.routes'

/** The /events resource (the change feed), chained so the router's type carries it. */
export function createEventsRouter({ feed }: { feed: EventsFeed }) {
  const handlers = createEventsHandlers(feed)
  return createRouter().openapi(routes.listEvents, handlers.listEvents)
}
