import { describe, expect, it } from 'bun:test'
import { ConfigError, configWarnings, loadConfig } from '../src/config'
import { configProblems as problemsOf } from './helpers/config'

/** The webhook variables of src/config.ts (docs/configuration.md). */
describe('configuration: webhooks', () => {
  it('defaults to a 15 s attempt, the Standard Webhooks schedule, and public https targets only', () => {
    expect(loadConfig({}).webhooks).toEqual({
      timeoutMs: 15_000,
      retrySchedule: [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000],
      allowPrivateTargets: false,
      secretKeys: [],
    })
  })

  it('reads WEBHOOK_TIMEOUT_MS, WEBHOOK_RETRY_SCHEDULE and WEBHOOK_ALLOW_PRIVATE_TARGETS', () => {
    const config = loadConfig({
      WEBHOOK_TIMEOUT_MS: '800',
      WEBHOOK_RETRY_SCHEDULE: '0,100ms,2s',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    })
    expect(config.webhooks).toEqual({ timeoutMs: 800, retrySchedule: [0, 100, 2000], allowPrivateTargets: true, secretKeys: [] })
  })

  it('keeps the SSRF guard on in production unless asked, and accepts the opt-out there', () => {
    const production = { NODE_ENV: 'production', MONGODB_URI: 'mongodb://db', METRICS_PUBLIC: 'true' }
    const keys = JSON.stringify([{ name: 'k', sha256: 'a'.repeat(64), scopes: ['webhooks:manage'] }])
    expect(loadConfig({ ...production, AUTH_API_KEYS: keys }).webhooks.allowPrivateTargets).toBe(false)
    expect(
      loadConfig({ ...production, AUTH_API_KEYS: keys, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }).webhooks.allowPrivateTargets,
    ).toBe(true)
  })

  it.each([
    [{ WEBHOOK_TIMEOUT_MS: '50' }, 'WEBHOOK_TIMEOUT_MS: '],
    [{ WEBHOOK_TIMEOUT_MS: 'soon' }, 'WEBHOOK_TIMEOUT_MS: '],
    [{ WEBHOOK_RETRY_SCHEDULE: '0,5' }, 'WEBHOOK_RETRY_SCHEDULE: entry 2 ("5") must be 0 or a whole number with a unit'],
    [{ WEBHOOK_RETRY_SCHEDULE: '0,8d' }, 'WEBHOOK_RETRY_SCHEDULE: entry 2 ("8d") must be at most 7 days'],
    [{ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'yes' }, "WEBHOOK_ALLOW_PRIVATE_TARGETS: must be 'true' or 'false'"],
  ])('names the bad variable in %o', (env, message) => {
    let problems: string[] = []
    try {
      loadConfig(env)
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems
    }
    expect(problems).toHaveLength(1)
    expect(problems[0]).toStartWith(message)
  })

  it("refuses EVENTS_RETENTION_DAYS shorter than WEBHOOK_RETRY_SCHEDULE's span, naming both", () => {
    // The default schedule spans about 3.15 days: its last retry would find events kept 1 or 3 days pruned.
    for (const days of ['1', '3']) {
      const problems = problemsOf({ EVENTS_RETENTION_DAYS: days })
      expect(problems).toHaveLength(1)
      expect(problems[0]).toStartWith(
        "EVENTS_RETENTION_DAYS: must be longer than WEBHOOK_RETRY_SCHEDULE's total span (3.15 days)",
      )
      expect(problems[0]).toContain('at least 4')
    }
    expect(problemsOf({ EVENTS_RETENTION_DAYS: '4' })).toEqual([])
    // A shorter schedule allows a shorter retention, and a longer one needs a longer retention.
    expect(problemsOf({ EVENTS_RETENTION_DAYS: '1', WEBHOOK_RETRY_SCHEDULE: '0,5s,1h,12h' })).toEqual([])
    expect(problemsOf({ EVENTS_RETENTION_DAYS: '7', WEBHOOK_RETRY_SCHEDULE: '0,7d' })[0]).toContain('at least 8')
  })
})

describe('configuration: WEBHOOK_SECRET_KEYS', () => {
  const hex = 'ab'.repeat(32)
  const base64 = Buffer.alloc(32, 7).toString('base64')

  it('reads 32-byte keys as 64 hex digits or base64 (standard or URL-safe), in order: the first seals', () => {
    const urlSafe = Buffer.alloc(32, 250).toString('base64url')
    const keys = loadConfig({ WEBHOOK_SECRET_KEYS: ` ${base64}, ${hex},${urlSafe}` }).webhooks.secretKeys
    expect(keys.map((key) => Buffer.from(key).toString('hex'))).toEqual(['07'.repeat(32), 'ab'.repeat(32), 'fa'.repeat(32)])
  })

  it('decodes a standard base64 key with + and / (padded or not) to its bytes, as base64url decoding must', () => {
    const bytes = Buffer.alloc(32, 0xfb)
    const standard = bytes.toString('base64')
    expect(standard).toContain('+')
    expect(standard).toContain('/')
    expect(standard).toEndWith('=')
    const keys = loadConfig({ WEBHOOK_SECRET_KEYS: `${standard},${Buffer.alloc(32, 0xbf).toString('base64').slice(0, 43)}` })
      .webhooks.secretKeys
    expect(keys.map((key) => Buffer.from(key).toString('hex'))).toEqual(['fb'.repeat(32), 'bf'.repeat(32)])
    // The same key in both alphabets is one key.
    expect(problemsOf({ WEBHOOK_SECRET_KEYS: `${standard},${bytes.toString('base64url')}` })[0]).toContain(
      'must not repeat a key',
    )
  })

  it.each([
    ['a key of 16 bytes', Buffer.alloc(16, 1).toString('base64'), 'each key must be 32 random bytes as 64 hex digits or base64'],
    ['63 hex digits', 'a'.repeat(63), 'each key must be 32 random bytes as 64 hex digits or base64'],
    ['a passphrase', 'correct horse battery staple', 'each key must be 32 random bytes'],
    ['a repeated key', `${hex},${hex}`, 'must not repeat a key'],
    ['only commas', ',,', 'must hold at least one key'],
  ])('refuses %s, naming the variable and never the value', (_, value, message) => {
    const problems = problemsOf({ WEBHOOK_SECRET_KEYS: value })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toStartWith(`WEBHOOK_SECRET_KEYS: ${message}`)
    expect(problems[0]).not.toContain(value)
  })

  it('warns in production, and only there, when it is not set; never refuses', () => {
    const production = { NODE_ENV: 'production', MONGODB_URI: 'mongodb://db', METRICS_PUBLIC: 'true' }
    const apiKeys = JSON.stringify([{ name: 'k', sha256: 'a'.repeat(64), scopes: ['webhooks:manage'] }])
    const env = { ...production, AUTH_API_KEYS: apiKeys, AUTH_FAILURE_KEY_SECRET: 's'.repeat(32) }
    const messages = (vars: Record<string, string>) => configWarnings(loadConfig(vars), vars).map((w) => w.message)
    const warned = messages(env)
    expect(warned).toHaveLength(1)
    expect(warned[0]).toStartWith('WEBHOOK_SECRET_KEYS is not set: webhook signing secrets are stored as they are')
    expect(warned[0]).toContain('the same on every replica')
    expect(messages({ ...env, WEBHOOK_SECRET_KEYS: hex })).toEqual([])
    expect(messages({ NODE_ENV: 'test' })).toEqual([])
    expect(messages({})).toEqual([])
  })
})
