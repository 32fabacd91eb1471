import { describe, expect, it } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config'

/** The webhook variables of src/config.ts (docs/configuration.md). */
describe('configuration: webhooks', () => {
  it('defaults to a 15 s attempt, the Standard Webhooks schedule, and public https targets only', () => {
    expect(loadConfig({}).webhooks).toEqual({
      timeoutMs: 15_000,
      retrySchedule: [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000],
      allowPrivateTargets: false,
    })
  })

  it('reads WEBHOOK_TIMEOUT_MS, WEBHOOK_RETRY_SCHEDULE and WEBHOOK_ALLOW_PRIVATE_TARGETS', () => {
    const config = loadConfig({
      WEBHOOK_TIMEOUT_MS: '800',
      WEBHOOK_RETRY_SCHEDULE: '0,100ms,2s',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    })
    expect(config.webhooks).toEqual({ timeoutMs: 800, retrySchedule: [0, 100, 2000], allowPrivateTargets: true })
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
})
