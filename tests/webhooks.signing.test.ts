import { describe, expect, it } from 'bun:test'
import { createHmac } from 'node:crypto'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import {
  generateWebhookSecret,
  isWebhookSecret,
  rotateSecrets,
  SECRET_ROTATION_OVERLAP_MS,
  signingSecrets,
  signWebhook,
} from '../src/webhooks/webhooks.signing'

/**
 * Every signature this service produces must verify with the standard's reference implementation
 * (the `standardwebhooks` package), which reads the clock itself: these tests sign at the real time.
 */
const body = JSON.stringify({ id: 'evt_01JD8Z3N5W0000000000000000', type: 'user.created', data: { note: 'é ✓ \u2028' } })

function headersFor(secrets: string[], overrides: { id?: string; body?: string; timestamp?: Date } = {}) {
  return signWebhook({
    id: overrides.id ?? 'evt_01JD8Z3N5W0000000000000000',
    timestamp: overrides.timestamp ?? new Date(),
    body: overrides.body ?? body,
    secrets,
  })
}

describe('signWebhook', () => {
  it('matches the published Standard Webhooks test vector', () => {
    const headers = signWebhook({
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: new Date(1614265330_000),
      body: '{"test": 2432232314}',
      secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    })
    expect(headers).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    })
  })

  it('signs "{id}.{timestamp}.{body}" with HMAC-SHA256 of the decoded secret, in whole seconds', () => {
    const secret = generateWebhookSecret()
    const headers = headersFor([secret], { timestamp: new Date(1_700_000_000_999) })
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
    const expected = createHmac('sha256', key).update(`evt_01JD8Z3N5W0000000000000000.1700000000.${body}`).digest('base64')
    expect(headers['webhook-timestamp']).toBe('1700000000')
    expect(headers['webhook-signature']).toBe(`v1,${expected}`)
  })

  it('verifies with the standardwebhooks package and returns the body it signed', () => {
    const secret = generateWebhookSecret()
    expect(new Webhook(secret).verify(body, headersFor([secret]))).toEqual(JSON.parse(body))
  })

  it('signs with both secrets during a rotation: a receiver holding either one verifies', () => {
    const [next, old] = [generateWebhookSecret(), generateWebhookSecret()]
    const headers = headersFor([next, old])
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2)
    expect(new Webhook(next).verify(body, headers)).toEqual(JSON.parse(body))
    expect(new Webhook(old).verify(body, headers)).toEqual(JSON.parse(body))
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow(WebhookVerificationError)
  })

  it('fails verification when the body, the timestamp or the id was changed', () => {
    const secret = generateWebhookSecret()
    const verifier = new Webhook(secret)
    const headers = headersFor([secret])
    expect(() => verifier.verify(body.replace('created', 'deleted'), headers)).toThrow('No matching signature found')
    expect(() => verifier.verify(`${body} `, headers)).toThrow('No matching signature found')
    const earlier = String(Number(headers['webhook-timestamp']) - 1)
    expect(() => verifier.verify(body, { ...headers, 'webhook-timestamp': earlier })).toThrow('No matching signature found')
    expect(() => verifier.verify(body, { ...headers, 'webhook-id': 'evt_01JD8Z3N5W0000000000000001' })).toThrow(
      'No matching signature found',
    )
  })

  it('fails verification with another secret', () => {
    const headers = headersFor([generateWebhookSecret()])
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow('No matching signature found')
  })

  it('refuses ids the spec forbids, no secrets and malformed secrets', () => {
    const secret = generateWebhookSecret()
    expect(() => headersFor([secret], { id: 'evt.1' })).toThrow(TypeError)
    expect(() => headersFor([secret], { id: '' })).toThrow(TypeError)
    expect(() => headersFor([])).toThrow(TypeError)
    expect(() => headersFor(['whsec_c2hvcnQ='])).toThrow(TypeError)
    expect(() => headersFor([secret.slice('whsec_'.length)])).toThrow(TypeError)
    expect(() => headersFor([secret], { timestamp: new Date(Number.NaN) })).toThrow(TypeError)
  })
})

describe('generateWebhookSecret', () => {
  it('makes whsec_ and the base64 of 32 random bytes, different every time', () => {
    const secrets = new Set(Array.from({ length: 50 }, generateWebhookSecret))
    expect(secrets.size).toBe(50)
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
      expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32)
      expect(isWebhookSecret(secret)).toBe(true)
    }
  })
})

describe('isWebhookSecret', () => {
  it.each([
    ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', true],
    [`whsec_${Buffer.alloc(64, 1).toString('base64')}`, true],
    [`whsec_${Buffer.alloc(23, 1).toString('base64')}`, false],
    [`whsec_${Buffer.alloc(65, 1).toString('base64')}`, false],
    ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', false],
    ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS', false],
    ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La-_Sw', false],
    ['whsec_', false],
  ])('%s → %p', (value, expected) => {
    expect(isWebhookSecret(value)).toBe(expected)
  })
})

describe('secret rotation', () => {
  const t0 = new Date('2026-11-30T08:00:00.000Z')
  const at = (ms: number) => new Date(t0.getTime() + ms)

  it('keeps the replaced secret signing, after the new one, for 24 hours', () => {
    const [first, second] = ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', generateWebhookSecret()]
    const stored = rotateSecrets([{ secret: first, createdAt: at(-1000) }], second, t0)
    expect(signingSecrets(stored, t0)).toEqual([second, first])
    expect(signingSecrets(stored, at(SECRET_ROTATION_OVERLAP_MS - 1))).toEqual([second, first])
    expect(signingSecrets(stored, at(SECRET_ROTATION_OVERLAP_MS))).toEqual([second])
  })

  it('drops a secret replaced earlier at once when rotating again inside the overlap', () => {
    const [a, b, c] = [generateWebhookSecret(), generateWebhookSecret(), generateWebhookSecret()]
    const once = rotateSecrets([{ secret: a, createdAt: t0 }], b, at(1000))
    const twice = rotateSecrets(once, c, at(2000))
    expect(twice).toHaveLength(2)
    expect(signingSecrets(twice, at(3000))).toEqual([c, b])
  })

  it('makes a first secret current when there was none', () => {
    const secret = generateWebhookSecret()
    expect(rotateSecrets([], secret, t0)).toEqual([{ secret, createdAt: t0 }])
  })
})
