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
  /** The caller already holds its share of this instance's long polls. */
  | { kind: 'too_many_waiting'; max: number }

export type EventsFeed = {
  /** `caller` (the authenticated caller's name) bounds its share of the long polls. */
  list(query: ListEventsQuery, signal?: AbortSignal, caller?: string): Promise<FeedOutcome>
  /** Long polls waiting now (for tests and metrics). */
  waiting(): number
}

export type FeedOptions = {
  /** How often the watermark is read while someone waits (250 ms). */
  pollEveryMs?: number
  /** Long polls one instance holds at most; above it, 503 with Retry-After (1000). */
  maxWaiters?: number
  /**
   * Long polls one caller holds at most on one instance (100); above it, 429 (too_many_waiting),
   * so that no one caller takes every slot (a security review held all 1000 with one key).
   */
  maxWaitersPerCaller?: number
  /** True once the process is draining: waiting requests are answered at once. */
  shuttingDown?: () => boolean
  /** Told how many long polls wait, each time it changes (a metric). */
  onWaiting?: (count: number) => void
  clock?: () => Date
}

export function createEventsFeed(events: EventsStore, options: FeedOptions = {}): EventsFeed {
  const clock = options.clock ?? (() => new Date())
  const watcher = createWatcher(events, options)

  async function answer(query: ListEventsQuery, signal?: AbortSignal, caller?: string): Promise<FeedOutcome> {
    const state = await events.state()
    const after = query.after === undefined ? state.prunedThrough : Number(query.after)
    if (after < state.prunedThrough) return { kind: 'cursor_expired', after, prunedThrough: state.prunedThrough }
    if (after > state.lastSequence) return { kind: 'ahead', after, lastSequence: state.lastSequence }
    // The caller's place among the long polls: taken at the first wait, kept until the answer (a
    // filtered poll may wait several times), so a poll that has waited is never refused later.
    const place: Place = { caller, held: false }
    try {
      return await follow(query, after, state.visibleThrough, place, signal)
    } finally {
      if (place.held && caller !== undefined) watcher.leave(caller)
    }
  }

  /** Pages after `after` up to the watermark, waiting (up to waitSeconds) while there is none. */
  async function follow(query: ListEventsQuery, after: number, visible: number, place: Place, signal?: AbortSignal) {
    const deadline = clock().getTime() + query.waitSeconds * 1000
    let through = visible
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
      if (items.length > 0 || remaining <= 0 || signal?.aborted) return holeFree(query, page, after, cursor)
      if (!place.held && place.caller !== undefined) {
        if (!watcher.enter(place.caller)) return { kind: 'too_many_waiting' as const, max: watcher.perCaller }
        place.held = true
      }
      const next = await watcher.wait(through, remaining, signal)
      if (next === undefined) return holeFree(query, page, after, cursor)
      through = next
    }
  }

  /**
   * The page, unless retention deleted events it covers while it was read: prunedThrough moves
   * before the deletes, so reading it again after the page tells (410 for a cursor below it; a read
   * without a cursor starts at what retention kept, so it keeps only what is above it). Sequences
   * have no gaps: an unfiltered page holding every sequence of (after, cursor] needs no second read.
   */
  async function holeFree(query: ListEventsQuery, page: FeedOutcome, after: number, cursor: number): Promise<FeedOutcome> {
    if (page.kind !== 'page') return page
    const filtered = query.type !== undefined || query.userId !== undefined
    if (!filtered && page.page.items.length === cursor - after) return page
    const { prunedThrough } = await events.state()
    if (after >= prunedThrough) return page
    if (query.after !== undefined) return { kind: 'cursor_expired', after, prunedThrough }
    const items = page.page.items.filter((event) => event.sequence > prunedThrough)
    return { kind: 'page', page: { items, nextCursor: String(Math.max(cursor, prunedThrough)) } }
  }

  return { waiting: watcher.size, list: answer }
}

type Waiter = { above: number; done: (watermark: number | undefined) => void }

/** A request's place among its caller's long polls (anonymous callers have no share). */
type Place = { caller: string | undefined; held: boolean }

/** The long polls' one watcher: wakes each waiter once the watermark passes what it has seen. */
function createWatcher(events: EventsStore, options: FeedOptions) {
  const pollEveryMs = options.pollEveryMs ?? 250
  const maxWaiters = options.maxWaiters ?? 1000
  const perCaller = options.maxWaitersPerCaller ?? 100
  const waiters = new Set<Waiter>()
  /** Long polls held per caller, for those that hold any. */
  const held = new Map<string, number>()
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
    perCaller,
    /** Takes one of `caller`'s places among the long polls; false when it holds its share already. */
    enter(caller: string): boolean {
      const count = held.get(caller) ?? 0
      if (count >= perCaller) return false
      held.set(caller, count + 1)
      return true
    },
    leave(caller: string): void {
      const count = (held.get(caller) ?? 0) - 1
      if (count > 0) held.set(caller, count)
      else held.delete(caller)
    },
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
