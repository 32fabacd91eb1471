import { UnavailableError } from '../errors'
import type { EventsStore } from './events.model'
import type { EventList, ListEventsQuery } from './events.schemas'

/**
 * GET /v1/events (docs/events.md, "The feed"): pages of events up to the watermark, so a consumer
 * following `nextCursor` sees each event once, in sequence order, never a lower sequence after a
 * higher one; and the long poll. One watcher per instance reads the watermark (a point read)
 * every `pollEveryMs` while anyone waits, and this process's relay wakes it at once on commit.
 */

export type FeedOutcome =
  | { kind: 'page'; page: EventList }
  /** `after` is below what retention kept: the events after it may be gone. */
  | { kind: 'cursor_expired'; after: number; prunedThrough: number }
  /** `after` names a sequence the feed never handed out. */
  | { kind: 'ahead'; after: number; lastSequence: number }

export type EventsFeed = {
  list(query: ListEventsQuery, signal?: AbortSignal): Promise<FeedOutcome>
  /** Long polls waiting now (for tests and metrics). */
  waiting(): number
}

export type FeedOptions = {
  /** How often the watermark is read while someone waits (250 ms). */
  pollEveryMs?: number
  /** Long polls one instance holds at most; above it, 503 with Retry-After (1000). */
  maxWaiters?: number
  /** True once the process is draining: waiting requests are answered at once. */
  shuttingDown?: () => boolean
  /** Told how many long polls wait, each time it changes (a metric). */
  onWaiting?: (count: number) => void
  clock?: () => Date
}

export function createEventsFeed(events: EventsStore, options: FeedOptions = {}): EventsFeed {
  const clock = options.clock ?? (() => new Date())
  const watcher = createWatcher(events, options)
  return {
    waiting: watcher.size,
    async list(query, signal) {
      const state = await events.state()
      const after = query.after === undefined ? state.prunedThrough : Number(query.after)
      if (after < state.prunedThrough) return { kind: 'cursor_expired', after, prunedThrough: state.prunedThrough }
      if (after > state.lastSequence) return { kind: 'ahead', after, lastSequence: state.lastSequence }
      const deadline = clock().getTime() + query.waitSeconds * 1000
      let through = state.visibleThrough
      for (;;) {
        const items =
          through > after
            ? await events.page({
                after,
                through,
                limit: query.limit,
                ...(query.type ? { types: query.type } : {}),
                ...(query.userId ? { userId: query.userId } : {}),
              })
            : []
        const last = items.at(-1)
        // A full page continues after its last event; otherwise everything up to the watermark was looked at.
        const cursor = items.length === query.limit && last ? last.sequence : Math.max(after, through)
        const page = { kind: 'page' as const, page: { items, nextCursor: String(cursor) } }
        const remaining = deadline - clock().getTime()
        if (items.length > 0 || remaining <= 0 || signal?.aborted) return page
        const next = await watcher.wait(through, remaining, signal)
        if (next === undefined) return page
        through = next
      }
    },
  }
}

type Waiter = { above: number; done: (watermark: number | undefined) => void }

/** The long polls' one watcher: wakes each waiter once the watermark passes what it has seen. */
function createWatcher(events: EventsStore, options: FeedOptions) {
  const pollEveryMs = options.pollEveryMs ?? 250
  const maxWaiters = options.maxWaiters ?? 1000
  const waiters = new Set<Waiter>()
  let polling = false

  const release = (watermark: number | undefined) => {
    for (const waiter of waiters) if (watermark === undefined || watermark > waiter.above) waiter.done(watermark)
  }
  events.onVisible(release)

  async function poll(): Promise<void> {
    polling = true
    while (waiters.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, pollEveryMs))
      if (options.shuttingDown?.()) {
        release(undefined)
        break
      }
      // A failed read is tried again at the next tick; the waiters' own deadlines still hold.
      const state = await events.state().catch(() => undefined)
      if (state) release(state.visibleThrough)
    }
    polling = false
  }

  return {
    size: () => waiters.size,
    /** The watermark once it is above `above`, or undefined when `ms` pass first, the caller goes away, or the process drains. */
    wait(above: number, ms: number, signal?: AbortSignal): Promise<number | undefined> {
      if (waiters.size >= maxWaiters) {
        throw new UnavailableError(
          'Too many long polls are waiting on this instance; retry shortly or poll without waitSeconds.',
          1,
        )
      }
      if (options.shuttingDown?.()) return Promise.resolve(undefined)
      return new Promise((resolve) => {
        const waiter: Waiter = {
          above,
          done: (watermark) => {
            waiters.delete(waiter)
            options.onWaiting?.(waiters.size)
            clearTimeout(timer)
            signal?.removeEventListener('abort', gone)
            resolve(watermark)
          },
        }
        const gone = () => waiter.done(undefined)
        const timer = setTimeout(gone, ms)
        signal?.addEventListener('abort', gone)
        waiters.add(waiter)
        options.onWaiting?.(waiters.size)
        if (!polling) void poll()
      })
    },
  }
}
