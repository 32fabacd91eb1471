import { z } from '@hono/zod-openapi'

/**
 * When webhook attempts happen: the Standard Webhooks example schedule (immediately, 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts over about 75 hours), overridable with
 * WEBHOOK_RETRY_SCHEDULE, and a receiver's `Retry-After` on 429 and 503. Pure functions of their
 * inputs: the clock is passed in.
 */

/** The spec's schedule, in the WEBHOOK_RETRY_SCHEDULE format. */
export const DEFAULT_RETRY_SCHEDULE = '0,5s,5m,30m,2h,5h,10h,14h,20h,24h'

/** Delays in milliseconds: entry i is the wait before attempt i + 1, after attempt i (entry 0: after the event). */
export type RetrySchedule = readonly number[]

const MAX_ENTRIES = 100
const MAX_DELAY_MS = 7 * 24 * 60 * 60 * 1000
/** The longest wait a Retry-After can impose: a receiver cannot park a delivery for a year. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000
/** Up to this fraction of a delay is added at random, so deliveries failed together do not all return together. */
const JITTER_FRACTION = 0.1

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const ENTRY_PATTERN = /^(\d{1,9})(ms|s|m|h|d)$/
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/

/**
 * Parses `0,5s,5m,30m,2h,...`: comma-separated delays, each `0` or a whole number with a unit (ms,
 * s, m, h, d), at most 7 days each, 1-100 entries. Throws a RangeError naming the entry that is wrong.
 */
export function parseRetrySchedule(text: string): RetrySchedule {
  const entries = text.split(',').map((entry) => entry.trim())
  if (entries.length > MAX_ENTRIES) throw new RangeError(`must have at most ${MAX_ENTRIES} entries`)
  return entries.map((entry, index) => {
    if (entry === '0') return 0
    const match = ENTRY_PATTERN.exec(entry)
    const where = `entry ${index + 1} (${JSON.stringify(entry)})`
    if (!match) throw new RangeError(`${where} must be 0 or a whole number with a unit: ms, s, m, h or d (as in 0,5s,5m,2h)`)
    const delay = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
    if (delay > MAX_DELAY_MS) throw new RangeError(`${where} must be at most 7 days`)
    return delay
  })
}

/** WEBHOOK_RETRY_SCHEDULE for config.ts: the text in, the delays out, a readable issue otherwise. */
export const RetryScheduleSchema = z.string().transform((text, ctx): RetrySchedule => {
  try {
    return parseRetrySchedule(text)
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message })
    return z.NEVER
  }
})

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
