import { describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { Webhook } from 'standardwebhooks'
import { verifyWebhook, WebhookVerificationError } from '../src/events/events.verify'
import { generateWebhookSecret, signWebhook } from '../src/webhooks/webhooks.signing'

/**
 * The consumers' verifier, checked against signatures made by the `standardwebhooks` package
 * (the reference implementation), not only by this service's signer.
 */
const secret = generateWebhookSecret()
const id = 'evt_01JD8Z3N5W7QK2XH9V4T6RBM0C'
const event = {
  id,
  type: 'user.updated',
  sequence: 1042,
  occurredAt: '2026-11-30T08:00:00.000Z',
  userId: '665f1c2e9b1e8a3d4c5b6a79',
  userVersion: 3,
  data: { changed: ['displayName'], note: 'ünïcödé ✓' },
}
const body = JSON.stringify(event)
const now = new Date('2026-11-30T08:00:10.000Z')
const seconds = Math.floor(now.getTime() / 1000)

/** Headers as the reference implementation signs them. */
function referenceHeaders(options: { secret?: string; at?: Date; payload?: string; msgId?: string } = {}) {
  const at = options.at ?? now
  const msgId = options.msgId ?? id
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(options.secret ?? secret).sign(msgId, at, options.payload ?? body),
  }
}

async function failure(promise: Promise<unknown>): Promise<WebhookVerificationError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error
    throw error
  }
  throw new Error('expected verification to fail')
}

describe('verifyWebhook', () => {
  it('returns the event of a webhook signed by the standardwebhooks package', async () => {
    expect(await verifyWebhook(secret, referenceHeaders(), body, { now })).toEqual(event as never)
  })

  it('takes the body as text, bytes or an ArrayBuffer', async () => {
    const bytes = new TextEncoder().encode(body)
    expect((await verifyWebhook(secret, referenceHeaders(), bytes, { now })).id).toBe(id)
    expect((await verifyWebhook(secret, referenceHeaders(), bytes.buffer as ArrayBuffer, { now })).id).toBe(id)
    expect((await verifyWebhook(secret, referenceHeaders(), Buffer.from(body), { now })).id).toBe(id)
  })

  it('takes Web Headers or a Node-style header object in any case', async () => {
    const headers = referenceHeaders()
    expect((await verifyWebhook(secret, new Headers(headers), body, { now })).id).toBe(id)
    const shouted = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), [v]]))
    expect((await verifyWebhook(secret, shouted, body, { now })).id).toBe(id)
  })

  it('verifies during a rotation with either secret, and with a list of secrets', async () => {
    const [next, old] = [generateWebhookSecret(), secret]
    const headers = signWebhook({ id, timestamp: now, body, secrets: [next, old] })
    expect((await verifyWebhook(next, headers, body, { now })).id).toBe(id)
    expect((await verifyWebhook(old, headers, body, { now })).id).toBe(id)
    expect((await verifyWebhook([generateWebhookSecret(), next], headers, body, { now })).id).toBe(id)
    expect((await failure(verifyWebhook(generateWebhookSecret(), headers, body, { now }))).reason).toBe('bad_signature')
  })

  it('agrees with the reference on what this service signs', async () => {
    const headers = signWebhook({ id, timestamp: new Date(), body, secrets: [secret] })
    expect(new Webhook(secret).verify(body, headers)).toEqual(event)
    expect((await verifyWebhook(secret, headers, body)).id).toBe(id)
  })

  it('ignores signature schemes it does not know (v1a) beside a v1 that matches', async () => {
    const headers = referenceHeaders()
    const mixed = { ...headers, 'webhook-signature': `v1a,AAAA v2,BBBB ${headers['webhook-signature']}` }
    expect((await verifyWebhook(secret, mixed, body, { now })).id).toBe(id)
  })

  it.each([
    ['the body', {}, body.replace('displayName', 'email')],
    ['the body by one space', {}, `${body} `],
    ['the id', { 'webhook-id': 'evt_01JD8Z3N5W7QK2XH9V4T6RBM0D' }, body],
    ['the timestamp', { 'webhook-timestamp': String(seconds - 1) }, body],
    ['the signature', { 'webhook-signature': 'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, body],
    ['the scheme', { 'webhook-signature': 'v1a,AAAA' }, body],
    ['the signature into garble', { 'webhook-signature': 'v1,not*base64' }, body],
  ])('refuses a webhook when %s was changed', async (_, replaced, sent) => {
    const headers = { ...referenceHeaders(), ...replaced }
    expect((await failure(verifyWebhook(secret, headers, sent, { now }))).reason).toBe('bad_signature')
  })

  it('refuses a webhook signed with another secret', async () => {
    const headers = referenceHeaders({ secret: generateWebhookSecret() })
    expect(await failure(verifyWebhook(secret, headers, body, { now }))).toMatchObject({
      reason: 'bad_signature',
      message: 'no v1 signature matches the secret',
    })
  })

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('refuses a webhook without %s', async (name) => {
    const headers: Record<string, string> = referenceHeaders()
    delete headers[name]
    expect(await failure(verifyWebhook(secret, headers, body, { now }))).toMatchObject({
      reason: 'missing_header',
      message: `${name} is missing`,
    })
  })

  it.each(['12abc', '-5', '1.5', ' ', '1e9', '9999999999999999'])('refuses webhook-timestamp %j', async (timestamp) => {
    const headers = { ...referenceHeaders(), 'webhook-timestamp': timestamp }
    expect((await failure(verifyWebhook(secret, headers, body, { now }))).reason).toMatch(/malformed_header|missing_header/)
  })

  it('refuses a header sent twice', async () => {
    const headers = { ...referenceHeaders(), 'webhook-id': [id, id] }
    expect((await failure(verifyWebhook(secret, headers, body, { now }))).reason).toBe('malformed_header')
  })

  it('accepts a timestamp up to 5 minutes away and refuses one further, either way', async () => {
    const at = (offsetSeconds: number) => referenceHeaders({ at: new Date(now.getTime() + offsetSeconds * 1000) })
    expect((await verifyWebhook(secret, at(-300), body, { now })).id).toBe(id)
    expect((await verifyWebhook(secret, at(300), body, { now })).id).toBe(id)
    expect(await failure(verifyWebhook(secret, at(-301), body, { now }))).toMatchObject({
      reason: 'timestamp_out_of_range',
      message: 'webhook-timestamp is more than 300 seconds old',
    })
    expect(await failure(verifyWebhook(secret, at(301), body, { now }))).toMatchObject({
      reason: 'timestamp_out_of_range',
      message: 'webhook-timestamp is more than 300 seconds ahead',
    })
  })

  it('takes another tolerance and the time as epoch milliseconds', async () => {
    const headers = referenceHeaders({ at: new Date(now.getTime() - 60_000) })
    expect((await verifyWebhook(secret, headers, body, { now: now.getTime(), toleranceSeconds: 60 })).id).toBe(id)
    const late = verifyWebhook(secret, headers, body, { now: now.getTime(), toleranceSeconds: 59 })
    expect((await failure(late)).reason).toBe('timestamp_out_of_range')
  })

  it('refuses an invalid time as a programming error, rather than accept any timestamp', async () => {
    const yearOld = referenceHeaders({ at: new Date(now.getTime() - 365 * 86_400_000) })
    for (const invalid of [Number.NaN, new Date('x'), Number.POSITIVE_INFINITY]) {
      await expect(verifyWebhook(secret, yearOld, body, { now: invalid })).rejects.toThrow(TypeError)
    }
  })

  it('uses the system clock by default', async () => {
    const fresh = referenceHeaders({ at: new Date() })
    expect((await verifyWebhook(secret, fresh, body)).id).toBe(id)
    // An hour before the real clock (the fixed \`now\` of the other cases can be the real time too).
    const stale = referenceHeaders({ at: new Date(Date.now() - 3_600_000) })
    expect((await failure(verifyWebhook(secret, stale, body))).reason).toBe('timestamp_out_of_range')
  })

  it('refuses a correctly signed body that is not JSON, or not the event webhook-id names', async () => {
    const text = 'not json'
    const notJson = verifyWebhook(secret, referenceHeaders({ payload: text }), text, { now })
    expect(await failure(notJson)).toMatchObject({ reason: 'malformed_body', message: 'the body is not JSON' })
    const other = JSON.stringify({ ...event, id: 'evt_01JD8Z3N5W7QK2XH9V4T6RBM0D' })
    const mismatch = verifyWebhook(secret, referenceHeaders({ payload: other }), other, { now })
    expect((await failure(mismatch)).reason).toBe('malformed_body')
  })

  it('refuses a secret that is not a whsec_ secret, as a programming error', async () => {
    await expect(verifyWebhook('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', referenceHeaders(), body, { now })).rejects.toThrow(TypeError)
    await expect(verifyWebhook('whsec_c2hvcnQ=', referenceHeaders(), body, { now })).rejects.toThrow(TypeError)
    await expect(verifyWebhook([], referenceHeaders(), body, { now })).rejects.toThrow(TypeError)
  })

  it('imports nothing at run time (type imports only), so it runs anywhere Web Crypto does', () => {
    const source = readFileSync(new URL('../src/events/events.verify.ts', import.meta.url), 'utf8')
    const imports = [...source.matchAll(/^import\s.*$/gm)].map((m) => m[0])
    expect(imports.length).toBeGreaterThan(0)
    expect(imports.filter((line) => !line.startsWith('import type '))).toEqual([])
  })
})
