import type { RetrySchedule } from '../retry-schedule'
import {
  type ClaimedDelivery,
  MAX_WEBHOOK_ENDPOINTS,
  type StoredAttempt,
  type StoredDelivery,
  type WebhookStores,
} from './webhooks.model'
import { createPacing, type Pacing } from './webhooks.pacing'
import { nextAttemptAt } from './webhooks.schedule'
import type { DeliveryOutcome, WebhookSender } from './webhooks.sender'
import { signingSecrets } from './webhooks.signing'

/**
 * The delivery workers, on every instance: claim due deliveries (a lease on each), send them, and
 * record what happened. Bounded: at most `perEndpoint` attempts in flight per endpoint on this
 * instance; the claim skips endpoints at their limit or paused by their circuit breaker
 * (webhooks.pacing.ts), so a slow or dead endpoint holds at most `perEndpoint` slots (each for at
 * most WEBHOOK_TIMEOUT_MS) while every other endpoint's deliveries go on. The instance's own bound,
 * `concurrency`, is by default every endpoint's share at once (MAX_WEBHOOK_ENDPOINTS of them), so
 * no number of slow endpoints can take the slots of the others: with 16, four slow endpoints
 * starved every other one (a security review). Nothing here is on a request's path.
 *
 * At least once: a worker that dies mid-attempt leaves its claim to run out; the delivery is then
 * sent again with the same `webhook-id`, which receivers deduplicate on.
 */

export type DeliveryWorkersDeps = {
  stores: Pick<WebhookStores, 'endpoints' | 'deliveries' | 'events'>
  send: WebhookSender
  schedule: RetrySchedule
  /** WEBHOOK_TIMEOUT_MS: a claim lasts this much longer than an attempt can. */
  timeoutMs: number
  clock?: () => Date
  /** Attempts in flight on this instance (default perEndpoint × MAX_WEBHOOK_ENDPOINTS, 80). */
  concurrency?: number
  /** Attempts in flight per endpoint on this instance (default 4). */
  perEndpoint?: number
  /** How often to look for due deliveries when not woken (default 1000 ms)... */
  pollMs?: number
  /**
   * ...doubling after each look that found nothing due, up to this (default 8 s), back at pollMs
   * after a claim or a wake-up. The instance that dispatches wakes its own workers, a retry due
   * wakes those of the instance that scheduled it, and a manual retry those of the instance that
   * took it; the poll is what lets the others help.
   */
  idlePollMs?: number
  /** Jitter for retry delays (Math.random by default; tests pass () => 0). */
  random?: () => number
  onError?: (error: unknown) => void
  /** Told about each attempt and how its delivery stands after it (for logs). */
  onAttempt?: (report: AttemptReport) => void
}

export type AttemptReport = {
  webhookId: string
  deliveryId: string
  attempts: number
  outcome: Pick<DeliveryOutcome, 'result' | 'statusCode' | 'errorClass' | 'errorCode' | 'durationMs'> | 'skipped'
  status: StoredDelivery['status']
  endpointDisabled?: true
  /** Set when a 410 also failed the endpoint's other waiting deliveries: how many. */
  pendingFailed?: number
  /** Set when this attempt paused the endpoint on this instance (its circuit breaker). */
  pausedUntil?: Date
}

/** Beyond the attempt's own bound: the record write, and clocks that disagree a little. */
const LEASE_MARGIN_MS = 30_000

export function createDeliveryWorkers(deps: DeliveryWorkersDeps) {
  const { deliveries } = deps.stores
  const clock = deps.clock ?? (() => new Date())
  const { perEndpoint = 4, random = Math.random } = deps
  const concurrency = deps.concurrency ?? perEndpoint * MAX_WEBHOOK_ENDPOINTS
  const pacing = createPacing({ perEndpoint, clock })
  const active = new Set<Promise<void>>()
  let running = false
  let loop: Promise<void> | undefined
  let woken = signal()
  const wake = () => woken.resolve()
  const alarm = createAlarm(wake, clock)
  const attempt = { ...deps, clock, random, pacing, wakeAt: alarm.at }

  /** Claims due deliveries until every slot is busy or nothing is due; whether it claimed any. */
  async function fill(): Promise<boolean> {
    let claimed = false
    while (active.size < concurrency) {
      const delivery = await deliveries.claim(clock(), deps.timeoutMs + LEASE_MARGIN_MS, pacing.excluded())
      if (!delivery) break
      claimed = true
      pacing.started(delivery.webhookId)
      const task: Promise<void> = attemptDelivery(attempt, delivery)
        .catch((error) => deps.onError?.(error))
        .finally(() => {
          active.delete(task)
          pacing.finished(delivery.webhookId)
          wake()
        })
      active.add(task)
    }
    return claimed
  }

  async function runLoop(): Promise<void> {
    const pollMs = deps.pollMs ?? 1000
    let pause = pollMs
    const stopListening = deliveries.onDue(wake)
    while (running) {
      woken = signal()
      let claimed = false
      try {
        claimed = await fill()
      } catch (error) {
        deps.onError?.(error)
      }
      if (!running) break
      // Nothing due: an idle instance looks less and less often (issue 18: idle CPU).
      pause = claimed || active.size > 0 ? pollMs : Math.min(deps.idlePollMs ?? 8000, pause * 2)
      if (await sleepUnless(woken.promise, pause)) pause = pollMs
    }
    stopListening()
  }

  return {
    /** Looks for due deliveries now (the local dispatcher, and onDue: a manual retry here). */
    wake,
    start() {
      if (running) return
      running = true
      loop = runLoop()
    },
    /** Stops claiming, then waits for the attempts in flight (each bounded by WEBHOOK_TIMEOUT_MS). */
    async stop() {
      running = false
      alarm.clear()
      wake()
      await loop
      await Promise.allSettled([...active])
    },
    /** For tests and scripts driving the workers directly: attempts until none is due or in flight. */
    async drain(): Promise<void> {
      for (;;) {
        const claimed = await fill()
        if (active.size > 0) await Promise.race(active)
        else if (!claimed) return
      }
    },
  }
}

type AttemptDeps = DeliveryWorkersDeps & {
  clock: () => Date
  random: () => number
  pacing: Pacing
  /** Wakes this instance's workers at `when` (a retry or the end of a pause is due then). */
  wakeAt: (when: Date) => void
}

/** One attempt of a claimed delivery, and its record. */
async function attemptDelivery(deps: AttemptDeps, delivery: ClaimedDelivery): Promise<void> {
  const { endpoints, deliveries, events } = deps.stores
  const { clock, random } = deps
  const report = (outcome: DeliveryOutcome | 'skipped', status: StoredDelivery['status'], extra: Partial<AttemptReport> = {}) =>
    deps.onAttempt?.({
      webhookId: delivery.webhookId,
      deliveryId: delivery.id,
      attempts: delivery.attempts,
      outcome: outcome === 'skipped' ? outcome : summaryOf(outcome),
      status,
      ...extra,
    })
  const [endpoint, event] = await Promise.all([endpoints.get(delivery.webhookId), events.byId(delivery.eventId)])
  if (!endpoint) return deliveries.discard(delivery)
  if (!endpoint.enabled || !event) {
    // Disabled meanwhile, or the event is past retention: nothing to send; the claim is no attempt.
    await deliveries.resolve(delivery, { status: 'failed', uncount: true }, clock())
    return report('skipped', 'failed')
  }
  const secrets = signingSecrets(endpoint.secrets, clock())
  // A secret no configured key opens: an attempt that failed before sending, retried on the schedule (a key put back delivers).
  const outcome = secrets
    ? await deps.send({ endpoint: { url: endpoint.url, secrets }, id: event.id, body: JSON.stringify(event) })
    : ({ result: 'retry', attemptedAt: clock(), durationMs: 0, errorClass: 'secret_unopened' } satisfies DeliveryOutcome)
  const now = clock()
  // Appended by the store to the list as it is then, never to the copy read at claim time. An
  // event without a user is an erased user's (scrubbed, or the erase itself): what the receiver
  // answered about it is not kept, as for deliveries an erase marked (a delivery made after the
  // erase, for an endpoint catching up, carries no mark).
  const attempt = toAttempt(outcome, 'user' in event.data)
  const pausedUntil = deps.pacing.record(delivery.webhookId, outcome.result === 'delivered')
  if (pausedUntil) {
    // Its waiting deliveries move to the end of the pause: no instance claims them before.
    await deliveries.postpone(delivery.webhookId, pausedUntil)
    deps.wakeAt(pausedUntil)
  }
  const paused = pausedUntil ? { pausedUntil } : {}
  if (outcome.result === 'delivered') {
    await deliveries.resolve(delivery, { status: 'succeeded', attempt }, now)
    return report(outcome, 'succeeded')
  }
  if (outcome.result === 'gone') {
    // 410: the receiver says it wants no more. The endpoint is disabled, with the reason.
    await deliveries.resolve(delivery, { status: 'failed', attempt }, now)
    const disabled = await endpoints.disable(delivery.webhookId, 'gone', now)
    const pendingFailed = await deliveries.failPending(delivery.webhookId, now)
    return report(outcome, 'failed', {
      ...(disabled ? { endpointDisabled: true } : {}),
      ...(pendingFailed > 0 ? { pendingFailed } : {}),
    })
  }
  const retryAfterMs = outcome.retryAfterMs
  const scheduled = nextAttemptAt(deps.schedule, delivery.attempts, now, { ...(retryAfterMs ? { retryAfterMs } : {}), random })
  // Not before the end of a pause this attempt started.
  const next = scheduled && pausedUntil && scheduled < pausedUntil ? pausedUntil : scheduled
  if (next) {
    await deliveries.resolve(delivery, { status: 'pending', nextAttemptAt: next, attempt }, now)
    deps.wakeAt(next)
    return report(outcome, 'pending', paused)
  }
  await deliveries.resolve(delivery, { status: 'failed', attempt }, now)
  report(outcome, 'failed', paused)
}

/**
 * What a report carries of an attempt's outcome: the fields named, never the whole outcome, whose
 * response body may echo the event's user (reports go to the logs and the metrics).
 */
function summaryOf(outcome: DeliveryOutcome): Exclude<AttemptReport['outcome'], 'skipped'> {
  // The attempt as the log of deliveries keeps it without the answer, less its time (the log line has one).
  const { at: _at, ...fields } = toAttempt(outcome, false)
  return { result: outcome.result, ...fields }
}

/** One timer for the earliest time the workers must look again; later requests are merged into it. */
function createAlarm(wake: () => void, clock: () => Date) {
  let timer: ReturnType<typeof setTimeout> | undefined
  let due = Number.POSITIVE_INFINITY
  return {
    at(when: Date): void {
      const time = when.getTime()
      if (time >= due) return
      clearTimeout(timer)
      due = time
      timer = setTimeout(
        () => {
          due = Number.POSITIVE_INFINITY
          wake()
        },
        Math.max(0, time - clock().getTime()),
      )
      timer.unref?.()
    },
    clear(): void {
      clearTimeout(timer)
      due = Number.POSITIVE_INFINITY
    },
  }
}

/** A promise and its resolver (Promise.withResolvers is not in Node 20, which the service supports). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {}
  const promise = new Promise<void>((done) => {
    resolve = done
  })
  return { promise, resolve }
}

/** Waits `ms`, or less if `wake` resolves first (then true); leaves no timer behind. */
async function sleepUnless(wake: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const woken = await Promise.race([
    wake.then(() => true),
    new Promise<boolean>((done) => (timer = setTimeout(() => done(false), ms))),
  ])
  clearTimeout(timer)
  return woken
}

function toAttempt(outcome: DeliveryOutcome, keepAnswer: boolean): StoredAttempt {
  const { attemptedAt, durationMs, statusCode, errorClass, errorCode, responseBody, responseTruncated } = outcome
  return {
    at: attemptedAt,
    durationMs,
    ...(statusCode !== undefined ? { statusCode } : {}),
    ...(errorClass ? { errorClass } : {}),
    ...(errorCode ? { errorCode } : {}),
    ...(keepAnswer && responseBody ? { responseBody } : {}),
    ...(keepAnswer && responseTruncated ? { responseTruncated } : {}),
  }
}

export type DeliveryWorkers = ReturnType<typeof createDeliveryWorkers>
