import type { Lease } from '../db/lease'
import type { RetrySchedule } from '../retry-schedule'
import { deliveryIdFor } from './webhooks.ids'
import type { EventHeader, StoredDelivery, StoredEndpoint, WebhookStores } from './webhooks.model'

/**
 * The fan-out: turns the feed's events into deliveries, one per event and matching endpoint. One
 * dispatcher works at a time across all instances (the holder of the `webhook-dispatcher` lease);
 * its cursor `dispatchedThrough` moves only with the lease's token in the write's filter, so one
 * that paused past its lease and wakes up can change nothing. Everything it writes is idempotent
 * (a delivery is unique per endpoint and event), so a round cut short by a crash or a lost lease
 * is simply done again by the next holder.
 *
 * A round reads the watermark W and the cursor C, then:
 * 1. catches up each endpoint created or enabled again since it was last seen (its `catchUp` flag):
 *    events `(startAfterSequence, C]`, which earlier rounds may have passed before the endpoint's
 *    write was visible to them; the flag is cleared only once a token-guarded write confirms the
 *    lease, so a dispatcher that lost it (and may have read an old C) leaves it for the holder;
 * 2. fans out `(C, W]` to every enabled endpoint whose `types` match and whose startAfterSequence
 *    is below the event, page by page, moving the cursor after each page.
 * It never reads above W, so it never sees an event before one with a lower sequence is visible.
 */

export type DispatcherDeps = {
  stores: Pick<WebhookStores, 'endpoints' | 'deliveries' | 'events' | 'cursor'>
  lease: Pick<Lease, 'token'>
  schedule: RetrySchedule
  clock?: () => Date
  /** Events read per page (default 500). */
  pageSize?: number
  /** How often the holder looks for new events (default 250 ms). */
  everyMs?: number
  /**
   * The pause instead, when the last round found no enabled endpoint or this instance does not
   * hold the lease (default 5 s): an idle instance then makes no database call four times a
   * second. Ended early by `nudge()`, which this process's endpoint writes and a won lease call.
   */
  idleEveryMs?: number
  /** Finished deliveries are deleted this long after their last change (default 30 days). */
  retentionMs?: number
  /** Told how many deliveries a round created, when it created any (to wake the local workers). */
  onDispatched?: (created: number) => void
  onError?: (error: unknown) => void
}

const DAY_MS = 24 * 60 * 60 * 1000
const PRUNE_EVERY_MS = 60 * 60 * 1000
const REPAIR_EVERY_MS = 60 * 1000
/** A pending delivery unchanged this long with no queue entry was left by a crash between two writes. */
const REPAIR_AFTER_MS = 60 * 1000
/** Deliveries per insertMany: a page of events times the endpoints, in bounded writes. */
const INSERT_CHUNK = 500
/** How soon after a round ended new events (`published`) may bring the next one forward. */
const PUBLISHED_GAP_MS = 50

export function createWebhookDispatcher(deps: DispatcherDeps) {
  const { endpoints, deliveries, events, cursor } = deps.stores
  const clock = deps.clock ?? (() => new Date())
  const pageSize = deps.pageSize ?? 500
  const retentionMs = deps.retentionMs ?? 30 * DAY_MS
  /** The last round had nothing to send to: no lease, or no enabled endpoint. */
  let idle = true
  let unsubscribe: (() => void) | undefined
  const fan: FanOut = { ...deps.stores, schedule: deps.schedule, clock, pageSize }

  /** One round; the deliveries it created (0 when this instance does not hold the lease). */
  async function dispatch(): Promise<number> {
    const token = deps.lease.token()
    if (token === undefined) {
      idle = true
      return 0
    }
    // Set only once the list is read: a round that failed keeps the pace it had.
    const enabled = (await endpoints.list()).filter((endpoint) => endpoint.enabled)
    idle = enabled.length === 0
    // No endpoint, nothing to send, nothing more to read: a new one starts after its own
    // startAfterSequence, so a cursor left behind changes nothing (issue 18: idle CPU).
    if (enabled.length === 0) return upkeep().then(() => 0)
    const [through, dispatched] = await Promise.all([events.visibleThrough(), cursor.read()])
    let created = 0
    const behind = enabled.filter((candidate) => candidate.catchUp)
    for (const endpoint of behind) created += (await fanOut(fan, [endpoint], endpoint.startAfterSequence, dispatched)) ?? 0
    // The flags go only while the lease is still this round's (a token-guarded write): then no holder
    // moved the cursor past `dispatched` since it was read, and every later round sees these endpoints.
    // One whose lease ran out may have read a cursor a round that missed an endpoint has since passed.
    if (behind.length > 0 && !(await cursor.advance(token, dispatched))) return created
    for (const endpoint of behind) await endpoints.caughtUp(endpoint.id, endpoint.startAfterSequence)
    // Events no endpoint wants (at or below every startAfterSequence) are skipped, not read.
    const from = Math.max(dispatched, Math.min(through, ...enabled.map((endpoint) => endpoint.startAfterSequence)))
    const fannedOut = await fanOut(fan, enabled, from, through, token)
    if (fannedOut !== null) {
      created += fannedOut
      if (through > dispatched) await cursor.advance(token, through)
    }
    await upkeep()
    return created
  }

  const upkeep = createUpkeep(deliveries, clock, retentionMs)

  const rounds = repeat(
    () =>
      dispatch()
        .then((created) => {
          if (created > 0) deps.onDispatched?.(created)
        })
        .catch((error) => deps.onError?.(error)),
    () => (idle ? (deps.idleEveryMs ?? 5000) : (deps.everyMs ?? 250)),
  )

  return {
    dispatch,
    /** The next round now (or right after the one running: it may have read before the change). */
    nudge: () => rounds.nudge(0),
    /**
     * New events are visible (this process's relay published them): the next round at once, but
     * at least PUBLISHED_GAP_MS after the last one ended, so a relay publishing many small batches
     * under load does not turn the dispatcher's pace into one round per batch. Nothing while the
     * last round found no enabled endpoint.
     */
    published: () => {
      // With no enabled endpoint (or no lease) there is nothing to send: the idle pace stays.
      if (!idle) rounds.nudge(PUBLISHED_GAP_MS)
    },
    start() {
      unsubscribe ??= endpoints.onChange(() => rounds.nudge(0))
      rounds.start()
    },
    async stop() {
      unsubscribe?.()
      unsubscribe = undefined
      await rounds.stop()
    },
  }
}

/** Now and then, by the lease holder: finished deliveries past retention go; lost queue entries come back. */
function createUpkeep(deliveries: WebhookStores['deliveries'], clock: () => Date, retentionMs: number) {
  let lastPrune = 0
  let lastRepair = 0
  return async (): Promise<void> => {
    const now = clock().getTime()
    if (now - lastRepair >= REPAIR_EVERY_MS) {
      lastRepair = now
      await deliveries.repair(new Date(now - REPAIR_AFTER_MS))
    }
    if (now - lastPrune >= PRUNE_EVERY_MS) {
      lastPrune = now
      await deliveries.prune(new Date(now - retentionMs))
    }
  }
}

/**
 * Runs `round` at start, then again `pauseMs()` after each ends. A nudge brings the next round
 * forward to `gapMs` after the last one ended (at once with 0; `gapMs` after the running one, if
 * it came during a round).
 */
function repeat(round: () => Promise<void>, pauseMs: () => number) {
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  /** The smallest gap a nudge asked for since the last round started; undefined when none came. */
  let nudged: number | undefined
  let endedAt = 0
  /** When the pending timer fires (performance.now() time). */
  let dueAt = 0
  let current: Promise<void> | undefined
  // Each start() runs one chain of rounds: a round of an earlier chain (stopped, then started
  // again before that round ended) schedules nothing when it ends.
  let chain = 0
  const schedule = (delayMs: number, mine: number): void => {
    if (!running || mine !== chain) return
    dueAt = performance.now() + delayMs
    timer = setTimeout(() => {
      timer = undefined
      nudged = undefined
      current = round().finally(() => {
        endedAt = performance.now()
        schedule(nudged === undefined ? pauseMs() : Math.min(pauseMs(), nudged), mine)
      })
    }, delayMs)
    timer.unref?.()
  }
  const untilGap = (gapMs: number) => Math.max(0, endedAt + gapMs - performance.now())
  return {
    start(): void {
      if (running) return
      running = true
      schedule(0, ++chain)
    },
    nudge(gapMs: number): void {
      if (!running) return
      if (timer === undefined) {
        nudged = Math.min(nudged ?? gapMs, gapMs)
        return
      }
      const delayMs = untilGap(gapMs)
      if (performance.now() + delayMs >= dueAt) return
      clearTimeout(timer)
      schedule(delayMs, chain)
    },
    async stop(): Promise<void> {
      running = false
      clearTimeout(timer)
      await current
    },
  }
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>

type FanOut = Pick<WebhookStores, 'deliveries' | 'events' | 'cursor'> & {
  schedule: RetrySchedule
  clock: () => Date
  pageSize: number
}

/**
 * Fans out events `(after, through]` to `targets`; with a token, moves the cursor after each
 * page. Returns the deliveries created, or null when the lease was lost.
 */
async function fanOut(fan: FanOut, targets: StoredEndpoint[], after: number, through: number, token?: number) {
  let created = 0
  let position = after
  while (position < through) {
    const page = await fan.events.headers(position, through, fan.pageSize)
    const batch = deliveriesFor(page, targets, fan.clock(), fan.schedule)
    for (let i = 0; i < batch.length; i += INSERT_CHUNK)
      created += await fan.deliveries.insertMany(batch.slice(i, i + INSERT_CHUNK))
    // A short page means everything up to `through` was read (an event missing there was pruned).
    position = page.length < fan.pageSize ? through : (page.at(-1)?.sequence ?? through)
    if (token !== undefined && !(await fan.cursor.advance(token, position))) return null
  }
  return created
}

/** The deliveries of a page of events for `targets`, due at the schedule's first delay. */
function deliveriesFor(page: EventHeader[], targets: StoredEndpoint[], now: Date, schedule: RetrySchedule): StoredDelivery[] {
  const due = new Date(now.getTime() + (schedule[0] ?? 0))
  return page.flatMap((event) =>
    targets
      .filter((target) => target.startAfterSequence < event.sequence && (!target.types || target.types.includes(event.type)))
      .map((target) => ({
        id: deliveryIdFor(target.id, event.id),
        webhookId: target.id,
        eventId: event.id,
        eventType: event.type,
        sequence: event.sequence,
        userId: event.userId,
        status: 'pending' as const,
        attempts: 0,
        nextAttemptAt: due,
        recentAttempts: [],
        createdAt: now,
        updatedAt: now,
      })),
  )
}
