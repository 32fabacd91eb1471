import type { Lease } from '../db/lease'
import type { Logger } from '../logger'
import type { Metrics } from '../observability/metrics'
import type { OutboxCopy, OutboxUser, UsersOutbox } from '../users/users.outbox'
import { basesOf, erasedIn, type Plan, planBatch, type Refusal, rebuildBatch, type UserShare } from './events.batch'
import type { Batch, EventsStore, RelayState } from './events.model'
import type { ChangeEvent } from './events.schemas'

/**
 * The relay's steps (docs/events.md, "One batch"), each idempotent: gather, record (fenced),
 * insert, pop, scrub erasures, commit (fenced). events.relay.ts runs them in a loop under the lease.
 */

export type RelayStep = 'recorded' | 'inserted' | 'popped' | 'committed'

/** What the steps share: the stores, the lease, and the relay's memory of what to look at. */
export type RelayContext = {
  outbox: UsersOutbox
  events: EventsStore
  lease: Lease
  logger: Logger
  metrics?: Pick<Metrics, 'countEventsRelayed' | 'countRelayInvariantFailure'> | undefined
  clock: () => Date
  retentionDays: number
  maxUsers: number
  maxEvents: number
  pruneEveryMs: number
  scanEveryMs: { min: number; max: number }
  onStep?: ((step: RelayStep, batch: Batch) => void | Promise<void>) | undefined
  /** What else keeps copies of an erased user's values (webhook deliveries): told with its events' scrub. */
  forgetUser?: ((userId: string) => Promise<void>) | undefined
  /**
   * Users this process changed since the last look, each with the newest copy its writes left, or
   * null (read it). A copy stands in for a read only when `trusts` says so.
   */
  hints: Map<string, OutboxCopy | null>
  /**
   * Since when (performance.now(), at the first pass of the term whose read of the relay's state
   * found no batch in progress) no pop by an earlier holder can still apply, in the term of `token`: every batch before is committed, so its
   * pops are done, and a late one of a stopped holder matches nothing. Undefined from a failed pass
   * (its pops may still land) until the next such read.
   */
  quiet: { token: number; since: number } | undefined
  /** When this relay's last pop of each user came back (performance.now()). */
  poppedAt: Map<string, number>
  /** Whether the last pass took hints and was not fenced out (the loop goes on at once while some are left only then). */
  tookHints: boolean
  /** Users whose replay did not reach what is stored: left out of scans (they would fill every look). */
  quarantined: Set<string>
  scanDue: boolean
  /** Scans in a row that found nothing pending: each doubles the pause before the next (up to IDLE_SCAN_MS). */
  emptyScans: number
  nextScanAt: number
  nextPruneAt: number
}

const MAX_QUARANTINED = 1000
/** Pop times kept; past that they are forgotten and `quiet` starts again (copies sent before are read). */
const MAX_POPPED = 10_000
/**
 * The longest pause between scans that keep finding nothing (issue 18: an idle instance's CPU).
 * Scans find the changes of other instances; this instance's own changes come as hints at once.
 */
const IDLE_SCAN_MS = 8000

/** One batch (or the end of one left half done); the number of events it made visible. */
export async function pass(ctx: RelayContext): Promise<number> {
  const token = ctx.lease.token()
  if (token === undefined) return 0
  try {
    return await passWith(ctx, token)
  } catch (error) {
    // Its pops may still be applied later: no copy is trusted until a read finds the batch committed.
    ctx.quiet = undefined
    throw error
  }
}

async function passWith(ctx: RelayContext, token: number): Promise<number> {
  ctx.tookHints = false
  // Read at every pass, before the users, even right after this relay's own commit, whose
  // lastSequence it knows: on a replica set just after an election, the new primary's majority reads
  // may lag the last writes its predecessor acknowledged (MongoDB promises read-your-writes across
  // an election only in a causally consistent session). Users read then could still show events
  // this relay popped, which it would hand out again under new sequences (holes in the feed, their
  // inserts refused by the events' ids); a state read as stale makes the fenced record refuse the
  // batch instead, and one that is not makes the users read after it as fresh (docs/events.md,
  // "Across a failover").
  const state: Pick<RelayState, 'batch' | 'lastSequence'> = await ctx.events.state()
  if (state.batch) return finish(ctx, token, state.batch)
  if (ctx.quiet?.token !== token) ctx.quiet = { token, since: performance.now() }
  await prune(ctx, token)
  const users = await gather(ctx)
  const { plan, refused } = planBatch(users, state.lastSequence, ctx.maxEvents)
  for (const refusal of refused) quarantine(ctx, refusal)
  lookAgain(ctx, users, plan)
  return plan ? run(ctx, token, plan) : 0
}

/** Users to look at: those this process changed, and on a scan every user with pending events. */
async function gather(ctx: RelayContext): Promise<OutboxUser[]> {
  const found = new Map<string, OutboxUser>()
  const unread: string[] = []
  // The first maxUsers hints, taken off as they are read (the map holds up to 10,000 in a burst).
  for (const [id, copy] of ctx.hints) {
    if (unread.length + found.size >= ctx.maxUsers) break
    ctx.tookHints = true
    ctx.hints.delete(id)
    const user = copy && trusts(ctx, id, copy) ? copy.user() : null
    if (user) found.set(id, user)
    else unread.push(id)
  }
  for (const user of await ctx.outbox.read(unread)) found.set(user.id, user)
  if (ctx.scanDue || ctx.clock().getTime() >= ctx.nextScanAt) {
    ctx.scanDue = false
    const hinted = (id: string) => found.has(id) || ctx.hints.has(id)
    const started = performance.now()
    const scanned = await ctx.outbox.pending(ctx.maxUsers, [...ctx.quarantined])
    // A full look may leave more waiting: look again at once, unless it found only users this
    // process changed (its own backlog: their hints, or lookAgain's, bring them; on FerretDB a
    // scan per pass of a burst of creates read the whole collection each time, 51-55 s behind).
    if (scanned.length === ctx.maxUsers && !scanned.every((user) => hinted(user.id))) ctx.scanDue = true
    for (const user of scanned) found.set(user.id, user)
    // Cheap on MongoDB (an index range), not on FerretDB (a collection scan): see scanPause.
    ctx.emptyScans = scanned.length === 0 ? ctx.emptyScans + 1 : 0
    ctx.nextScanAt = ctx.clock().getTime() + scanPause(ctx.scanEveryMs, ctx.emptyScans, performance.now() - started)
  }
  return [...found.values()].filter((user) => user.pending.length > 0 && !ctx.quarantined.has(user.id))
}

/**
 * Users gathered whose events this batch does not all take (it holds at most maxEvents) are
 * hinted again, to be read at the next pass: their hints were taken, and a scan may not come for
 * seconds (a copy of them is stale once some of their events are popped).
 */
function lookAgain(ctx: RelayContext, users: readonly OutboxUser[], plan: Plan | null): void {
  const taken = new Map(plan?.shares.map((share) => [share.user.id, share.taken.length]))
  for (const user of users) {
    if ((taken.get(user.id) ?? 0) < user.pending.length && !ctx.quarantined.has(user.id)) ctx.hints.set(user.id, null)
  }
}

/**
 * Whether a write's copy of a user is the user's outbox as it is now, as a read would find it, but
 * for changes since (which a plan handles as a read's: they stay after the events it takes). It
 * is, when no pop of the user was applied after the write: the write was sent after this relay's
 * last pop of the user came back, and after `quiet` began in this term. Trusting a stale copy would
 * relay events again under new sequences, whose inserts the events' unique ids refuse: holes in the
 * feed. Anything in doubt is read.
 */
function trusts(ctx: RelayContext, id: string, copy: OutboxCopy): boolean {
  const quiet = quietTerm(ctx)
  if (!quiet || copy.sentAt <= quiet.since) return false
  const lastPop = ctx.poppedAt.get(id)
  return lastPop === undefined || copy.sentAt > lastPop
}

/** `quiet`, when it has begun in the lease's current term: only then can a copy sent from now on be trusted. */
export function quietTerm(ctx: RelayContext): RelayContext['quiet'] {
  return ctx.quiet?.token === ctx.lease.token() ? ctx.quiet : undefined
}

/** Notes when the pops of `users` came back: copies sent before are not trusted for them. */
function popped(ctx: RelayContext, users: readonly string[]): void {
  const at = performance.now()
  if (ctx.poppedAt.size + users.length > MAX_POPPED) {
    ctx.poppedAt.clear()
    if (ctx.quiet) ctx.quiet.since = at
  }
  for (const id of users) ctx.poppedAt.set(id, at)
}

/**
 * The pause before the next scan: at least 20 times the last scan's duration (scans take at most
 * about 5 % of the time), and while scans find nothing, twice the last pause, up to IDLE_SCAN_MS;
 * always within `bounds`.
 */
export function scanPause(bounds: { min: number; max: number }, emptyScans: number, scanMs: number): number {
  const idle = Math.min(IDLE_SCAN_MS, bounds.min * 2 ** Math.min(emptyScans, 16))
  return Math.min(bounds.max, Math.max(bounds.min, idle, 20 * scanMs))
}

/** A new batch: recorded under the token, then completed. */
async function run(ctx: RelayContext, token: number, plan: Plan): Promise<number> {
  const { batch } = plan
  if (!(await ctx.events.record(token, batch.first - 1, batch))) {
    // Fenced out: another holder has the lease. The hints left wait for the pause, not the next pass.
    ctx.tookHints = false
    return 0
  }
  await ctx.onStep?.('recorded', batch)
  return complete(ctx, token, batch, plan.events, plan.shares)
}

/** A batch recorded and not committed (by this holder or an earlier one) is finished before anything new. */
async function finish(ctx: RelayContext, token: number, batch: Batch): Promise<number> {
  const users = await ctx.outbox.read([...new Set(batch.entries.map((entry) => entry.userId))])
  const rebuilt = rebuildBatch(batch, users)
  ctx.logger.info(
    { first: batch.first, last: batch.last, rebuilt: rebuilt.events.length },
    'events relay: finishing a recorded batch',
  )
  // Read now: a user erased since may have events inserted (by the holder that stopped) from before.
  const erased = users.filter((user) => user.erased).map((user) => user.id)
  return complete(ctx, token, batch, rebuilt.events, rebuilt.shares, erased)
}

/**
 * Insert, pop, scrub, commit: each can run again with the same result. The scrub, before the
 * commit makes anything visible (docs/events.md, "Erase"): the users the batch erases, and every
 * user found erased on the way, whose events this batch (or a stopped holder of it) may have
 * built from the user before the erasure and inserted after the erase's own scrub.
 */
async function complete(
  ctx: RelayContext,
  token: number,
  batch: Batch,
  built: ChangeEvent[],
  shares: UserShare[],
  erasedBefore: readonly string[] = [],
) {
  await ctx.events.insert(built)
  await ctx.onStep?.('inserted', batch)
  const erased = new Set([...erasedIn(batch), ...erasedBefore])
  const erasedNow = await ctx.outbox.pop(shares.map((share) => ({ user: share.user, bases: basesOf(share) })))
  popped(
    ctx,
    shares.map((share) => share.user.id),
  )
  for (const [index, share] of shares.entries()) if (erasedNow[index]) erased.add(share.user.id)
  await ctx.onStep?.('popped', batch)
  for (const userId of erased) {
    await ctx.events.forgetUser(userId)
    await ctx.forgetUser?.(userId)
  }
  if (!(await ctx.events.commit(token, batch))) return 0
  await ctx.onStep?.('committed', batch)
  const now = ctx.clock().getTime()
  ctx.metrics?.countEventsRelayed(
    batch.last - batch.first + 1,
    built.map((event) => (now - Date.parse(event.occurredAt)) / 1000),
  )
  return batch.last - batch.first + 1
}

/** Retention, by the lease holder: at each new term, then every pruneEveryMs. */
async function prune(ctx: RelayContext, token: number): Promise<void> {
  const now = ctx.clock().getTime()
  if (now < ctx.nextPruneAt) return
  ctx.nextPruneAt = now + ctx.pruneEveryMs
  const through = await ctx.events.prune(token, new Date(now - ctx.retentionDays * 86_400_000))
  if (through !== null) ctx.logger.info({ prunedThrough: through }, 'events relay: retention applied')
}

function quarantine(ctx: RelayContext, refusal: Refusal): void {
  if (ctx.quarantined.size >= MAX_QUARANTINED) ctx.quarantined.clear()
  ctx.quarantined.add(refusal.userId)
  ctx.metrics?.countRelayInvariantFailure()
  // Ids and versions only: never a value of the user.
  ctx.logger.error(refusal, 'events relay: the replayed outbox does not match the stored user; its events are held back')
}
