import { describe, expect, it } from 'bun:test'
import {
  DEFAULT_RETRY_SCHEDULE,
  MAX_RETRY_AFTER_MS,
  nextAttemptAt,
  parseRetryAfter,
  parseRetrySchedule,
  RetryScheduleSchema,
} from '../src/webhooks/webhooks.schedule'

const S = 1000
const M = 60 * S
const H = 60 * M
const now = new Date('2026-11-30T08:00:00.000Z')
const later = (ms: number) => new Date(now.getTime() + ms)

describe('parseRetrySchedule (WEBHOOK_RETRY_SCHEDULE)', () => {
  it("reads the spec's schedule", () => {
    expect(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE)).toEqual([
      0,
      5 * S,
      5 * M,
      30 * M,
      2 * H,
      5 * H,
      10 * H,
      14 * H,
      20 * H,
      24 * H,
    ])
  })

  it('reads every unit and tolerates spaces', () => {
    expect(parseRetrySchedule(' 0, 250ms ,2s,1m,1h,1d')).toEqual([0, 250, 2 * S, M, H, 24 * H])
  })

  it.each([
    ['', 'entry 1 ("") must be 0 or a whole number with a unit'],
    ['0,5', 'entry 2 ("5") must be 0 or a whole number with a unit'],
    ['0,5x', 'entry 2 ("5x") must be 0'],
    ['0,-5s', 'entry 2 ("-5s") must be 0'],
    ['0,1.5s', 'entry 2 ("1.5s") must be 0'],
    ['0,,5s', 'entry 2 ("") must be 0'],
    ['0,8d', 'entry 2 ("8d") must be at most 7 days'],
    [Array(101).fill('1s').join(','), 'must have at most 100 entries'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parseRetrySchedule(text)).toThrow(message)
  })

  it('is a zod schema for config.ts that reports the wrong entry', () => {
    expect(RetryScheduleSchema.parse('0,100ms')).toEqual([0, 100])
    const result = RetryScheduleSchema.safeParse('0,soon')
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.message).toContain('entry 2 ("soon")')
  })
})

describe('nextAttemptAt', () => {
  const schedule = parseRetrySchedule(DEFAULT_RETRY_SCHEDULE)

  it('makes the first attempt at once and then follows the schedule, ten attempts in all', () => {
    const waits = Array.from({ length: 10 }, (_, attempts) => nextAttemptAt(schedule, attempts, now)!.getTime() - now.getTime())
    expect(waits).toEqual([0, 5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 14 * H, 20 * H, 24 * H])
    expect(nextAttemptAt(schedule, 10, now)).toBeNull()
  })

  it('spans about 75 hours from the first attempt to the last, as the spec says', () => {
    let at = now
    for (let attempts = 1; attempts < 10; attempts++) at = nextAttemptAt(schedule, attempts, at)!
    expect(at.getTime() - now.getTime()).toBe(75 * H + 35 * M + 5 * S)
  })

  it('waits at least as long as Retry-After says, and never less than the schedule', () => {
    expect(nextAttemptAt(schedule, 1, now, { retryAfterMs: 120 * S })).toEqual(later(120 * S))
    expect(nextAttemptAt(schedule, 3, now, { retryAfterMs: 120 * S })).toEqual(later(30 * M))
  })

  it('caps Retry-After at 24 hours and ignores a negative one', () => {
    expect(nextAttemptAt(schedule, 1, now, { retryAfterMs: 365 * 24 * H })).toEqual(later(MAX_RETRY_AFTER_MS))
    expect(nextAttemptAt(schedule, 1, now, { retryAfterMs: -5 * S })).toEqual(later(5 * S))
  })

  it('gives up when the schedule is used up, whatever Retry-After says', () => {
    expect(nextAttemptAt(parseRetrySchedule('0,1s'), 2, now, { retryAfterMs: S })).toBeNull()
  })

  it('adds up to 10 % jitter when given a random source, never to an immediate attempt', () => {
    expect(nextAttemptAt(schedule, 2, now, { random: () => 0.5 })).toEqual(later(5 * M + 15 * S))
    expect(nextAttemptAt(schedule, 2, now, { random: () => 0.999999 })!.getTime()).toBeLessThan(later(5 * M + 30 * S).getTime())
    expect(nextAttemptAt(schedule, 0, now, { random: () => 0.9 })).toEqual(now)
  })

  it('refuses a negative or fractional attempt count', () => {
    expect(() => nextAttemptAt(schedule, -1, now)).toThrow(RangeError)
    expect(() => nextAttemptAt(schedule, 1.5, now)).toThrow(RangeError)
  })
})

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120 * S],
    [' 0 ', 0],
    ['Mon, 30 Nov 2026 08:02:00 GMT', 2 * M],
    ['Monday, 30-Nov-26 08:02:00 GMT', 2 * M],
    ['Mon Nov 30 08:02:00 2026', 2 * M],
    ['Mon, 30 Nov 2026 07:00:00 GMT', 0],
    ['999999999', MAX_RETRY_AFTER_MS],
  ])('reads %j as %p ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms)
  })

  it.each([[null], [undefined], [''], ['soon'], ['-5'], ['1.5'], ['5m'], ['2026-11-30T08:02:00Z']])(
    'leaves %j to the schedule',
    (value) => {
      expect(parseRetryAfter(value, now)).toBeUndefined()
    },
  )
})
