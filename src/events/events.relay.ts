import type { DatabaseHandle } from '../db/calls'
import { createLease, type Lease } from '../db/lease'
import type { Logger } from '../logger'
import type { Metrics } from '../observability/metrics'
import type { OutboxCopy, UsersOutbox } from '../users/users.outbox'
import type { Batch, EventsStore } from './events.model'
import { pass, quietTerm, type RelayContext, type RelayStep } from './events.relay.steps'
import { EVENTS_STATE_COLLECTION, RELAY_STATE_ID } from './events.repository'

export type { RelayStep }

/**
 * The relay (docs/events.md, "The relay"): moves pending events from users' outboxes into
 * `events`, with a contiguous global sequence, one relay at a time across every instance (a
 * fenced lease), publishing the watermark only once every event below it is written. It runs in
 * every instance; only the lease holder works. Each step can run again with the same result, so
 * whoever holds the lease next finishes a batch the last holder left half done.
 *
 * It looks at once at the users this process changed (the storage's hints), and at every user
 * with pending events (changes made by other instances, or before a restart) on a slower scan.
 */
export type RelayOptions = {
  database: DatabaseHandle
  outbox: UsersOutbox
  events: EventsStore
  logger: Logger
  metrics?: Pick<Metrics, 'countEventsRelayed' | 'countRelayInvariantFailure'>
  /** EVENTS_RETENTION_DAYS: older events are pruned by the lease holder. */
  retentionDays: number
  clock?: () => Date
  /** The lease's term and renewal (10 s, 3 s); tests shorten them and bring their own clock. */
  lease?: { ttlMs?: number; renewEveryMs?: number; owner?: string; clock?: () => Date }
  /** Bounds of the pause between scans for pending events (1 s to 30 s). */
  scanEveryMs?: { min: number; max: number }
  /** At most this many users and events per batch (100, 500). */
  maxUsers?: number
  maxEvents?: number
  /** How often the lease holder applies retention (an hour). */
  pruneEveryMs?: number
  /**
   * Other stores with copies of a user's values that an erasure must reach (the webhook
   * deliveries; injected, as events/ knows nothing of webhooks/): told when the relay scrubs an
   * erased user's events, before it publishes them.
   */
  forgetUser?: (userId: string) => Promise<void>
  /**
   * Told after each pass that made events visible (the webhook dispatcher, injected by
   * src/service.ts: on the instance that relays, deliveries start without waiting for its next look).
   */
  onPublished?: () => void
  /** A test seam: called after each step of a batch; what it throws stops the batch there. */
  onStep?: (step: RelayStep, batch: Batch) => void | Promise<void>
}

export type Relay = {
  readonly lease: Lease
  start(): void
  stop(): Promise<void>
  /** Runs batches until nothing is pending, scanning for it; the number of events made visible. Needs the lease. */
  drain(): Promise<number>
}

const MAX_HINTS = 10_000

export function createRelay(options: RelayOptions): Relay {
  const control: Control = { running: false, wake: undefined, woken: false }
  const ctx = createContext(options, () => nudge(control))
  const { lease } = ctx
  let looping: Promise<void> | undefined
  let unhook: (() => void) | undefined
  // One pass at a time in this process, whoever asks (the loop or drain).
  let passing: Promise<unknown> = Promise.resolve()
  const serialized = (): Promise<number> => {
    const result = passing
      .then(
        () => pass(ctx),
        () => pass(ctx),
      )
      .then((moved) => {
        if (moved > 0) tellPublished(options)
        return moved
      })
    passing = result.catch(() => {})
    return result
  }

  return {
    lease,
    start() {
      if (control.running) return
      control.running = true
      unhook = options.outbox.onChange((id, copy) => {
        if (ctx.hints.size >= MAX_HINTS && !ctx.hints.has(id)) ctx.scanDue = true
        // A copy is kept only where it may be trusted (docs/events.md): by the holder, in a quiet
        // term (any other instance would keep documents it can never use, erased users' too).
        else hint(ctx.hints, id, quietTerm(ctx) ? copy : undefined)
        nudge(control)
      })
      lease.start()
      looping = loop(ctx, control, serialized)
    },
    async stop() {
      control.running = false
      unhook?.()
      control.wake?.()
      await looping
      await lease.stop()
    },
    async drain() {
      if (!lease.held()) throw new Error('the relay does not hold its lease')
      let total = 0
      for (;;) {
        ctx.scanDue = true
        const moved = await serialized()
        if (moved === 0) return total
        total += moved
      }
    },
  }
}

/**
 * Keeps the newest copy of a user a change's write left (the highest version: versions only grow);
 * a change told of without one (null) means the user is read, whatever else was told.
 */
function hint(hints: RelayContext['hints'], id: string, copy: OutboxCopy | undefined): void {
  const known = hints.get(id)
  if (known === null || !copy) hints.set(id, null)
  else if (!known || copy.version > known.version) hints.set(id, copy)
}

/** onPublished, whose failure is not the batch's (it is committed): logged, and the relay goes on. */
function tellPublished(options: RelayOptions): void {
  try {
    options.onPublished?.()
  } catch (error) {
    options.logger.warn({ err: error }, 'events relay: telling of published events failed')
  }
}

/** `wake` ends the loop's pause; `woken` keeps a wake-up that came while no pause was on (during a pass). */
type Control = { running: boolean; wake: (() => void) | undefined; woken: boolean }

/** Wakes the loop: at once when it pauses, else after the pass running now (which may have read before the change). */
function nudge(control: Control): void {
  if (control.wake) control.wake()
  else control.woken = true
}

/** The steps' shared state, with the relay's lease (whose new terms start with a scan and retention). */
function createContext(options: RelayOptions, wake: () => void): RelayContext {
  const lease = createLease(options.database, {
    collection: EVENTS_STATE_COLLECTION,
    name: RELAY_STATE_ID,
    ttlMs: options.lease?.ttlMs ?? 10_000,
    renewEveryMs: options.lease?.renewEveryMs ?? 3_000,
    ...(options.lease?.owner ? { owner: options.lease.owner } : {}),
    ...(options.lease?.clock ? { clock: options.lease.clock } : {}),
    onChange: (held) => {
      if (!held) return
      ctx.scanDue = true
      ctx.nextPruneAt = 0
      wake()
    },
  })
  const ctx: RelayContext = {
    outbox: options.outbox,
    events: options.events,
    lease,
    logger: options.logger,
    metrics: options.metrics,
    clock: options.clock ?? (() => new Date()),
    retentionDays: options.retentionDays,
    maxUsers: options.maxUsers ?? 100,
    maxEvents: options.maxEvents ?? 500,
    pruneEveryMs: options.pruneEveryMs ?? 3_600_000,
    scanEveryMs: options.scanEveryMs ?? { min: 1000, max: 30_000 },
    onStep: options.onStep,
    forgetUser: options.forgetUser,
    hints: new Map(),
    quiet: undefined,
    poppedAt: new Map(),
    tookHints: false,
    quarantined: new Set(),
    scanDue: true,
    emptyScans: 0,
    nextScanAt: 0,
    nextPruneAt: 0,
  }
  return ctx
}

/**
 * While running: a pass whenever the lease is held, then a pause until a hint, a new term, the next
 * scan, or stop; no pause when one of those came during the pass (it may have read before it).
 */
async function loop(ctx: RelayContext, control: Control, serialized: () => Promise<number>): Promise<void> {
  while (control.running) {
    control.woken = false
    let failed = false
    const moved = ctx.lease.held()
      ? await serialized().catch((error: unknown) => {
          ctx.logger.warn({ err: error }, 'events relay: a batch failed; the next pass takes it up')
          failed = true
          return 0
        })
      : 0
    // Hints left (a pass takes maxUsers of them, and may find nothing pending in those): the next pass at once.
    const hinted = !failed && ctx.tookHints && ctx.hints.size > 0 && ctx.lease.held()
    if (moved > 0 || hinted || !control.running || control.woken) continue
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pauseOf(ctx, failed))
      control.wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    control.wake = undefined
  }
}

/**
 * How long the loop sleeps when nothing woke it: a holder until its next scan or retention (hints,
 * a new term and stop wake it sooner), after a failed pass at most scanEveryMs.min; an instance
 * without the lease until scanEveryMs.max (winning the lease wakes it). A pass costs database calls
 * (the relay's state; a scan when due), so no shorter tick
 * (issue 18: an idle holder read it every second, others woke every 10 ms).
 */
function pauseOf(ctx: RelayContext, failed: boolean): number {
  if (!ctx.lease.held()) return ctx.scanEveryMs.max
  const due = Math.min(ctx.nextScanAt, ctx.nextPruneAt) - ctx.clock().getTime()
  const pause = failed ? Math.min(ctx.scanEveryMs.min, due) : due
  return Math.min(ctx.scanEveryMs.max, Math.max(10, pause))
}
