import { z } from '@hono/zod-openapi'

/**
 * The format of WEBHOOK_RETRY_SCHEDULE: comma-separated delays. A leaf module so that config.ts
 * (which must not import a surface) can parse the variable at startup; src/webhooks/webhooks.schedule.ts
 * decides when attempts happen from the parsed delays.
 */

/** The spec's schedule, in the WEBHOOK_RETRY_SCHEDULE format. */
export const DEFAULT_RETRY_SCHEDULE = '0,5s,5m,30m,2h,5h,10h,14h,20h,24h'

/** Delays in milliseconds: entry i is the wait before attempt i + 1, after attempt i (entry 0: after the event). */
export type RetrySchedule = readonly number[]

const MAX_ENTRIES = 100
const MAX_DELAY_MS = 7 * 24 * 60 * 60 * 1000

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const ENTRY_PATTERN = /^(\d{1,9})(ms|s|m|h|d)$/

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
