import type { RetrySchedule } from '../retry-schedule'

export { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule, type RetrySchedule, RetryScheduleSchema } from '../retry-schedule'

/**
 * When webhook attempts happen: the Standard Webhooks example schedule (immediately, 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts over about 75 hours), overridable with
 * WEBHOOK_RETRY_SCHEDULE, and a receiver's `Retry-After` on 429 and 503. Pure functions of their
 * inputs: the clock is passed in.
 */

/** The longest wait a Retry-After can impose: a receiver cannot park a delivery for a year. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000
/** Up to this fraction of a delay is added at random, so deliveries failed together do not all return together. */
const JITTER_FRACTION = 0.1
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/

/**
 * When the next attempt is due, given how many attempts were made (`attempts`; 0 before the
 * first) and when the last one ended (`now`); null once the schedule is used up (the delivery has
 * failed). A `retryAfterMs` from the receiver is a floor, capped at 24 h; `random` (Math.random)
 * adds up to 10 % of the delay as jitter; without it the answer is exact.
 */
export function nextAttemptAt(
  schedule: RetrySchedule,
  attempts: number,
  now: Date,
  options: { retryAfterMs?: number; random?: () => number } = {},
): Date | null {
  if (!Number.isInteger(attempts) || attempts < 0) throw new RangeError('attempts must be a whole number, 0 or more')
  const scheduled = schedule[attempts]
  if (scheduled === undefined) return null
  const retryAfter = Math.min(Math.max(options.retryAfterMs ?? 0, 0), MAX_RETRY_AFTER_MS)
  let delay = Math.max(scheduled, retryAfter)
  if (options.random && scheduled > 0) delay += Math.floor(scheduled * JITTER_FRACTION * options.random())
  return new Date(now.getTime() + delay)
}

/**
 * A `Retry-After` value (RFC 9110 §10.2.3) in milliseconds from `now`: delay-seconds or an
 * HTTP-date; a date in the past is 0. Undefined when absent or unreadable, so the schedule decides.
 * Capped at 24 h.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  let ms: number
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000
  } else {
    // IMF-fixdate and RFC 850 dates end in GMT; an asctime() date has no zone and means GMT too.
    const date = Date.parse(/ GMT$/.test(text) ? text : ASCTIME.test(text) ? `${text} GMT` : '')
    if (Number.isNaN(date)) return undefined
    ms = date - now.getTime()
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS)
}
