import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import { createWebhookSender, type WebhookSenderOptions } from '../src/webhooks/webhooks.sender'
import { generateWebhookSecret } from '../src/webhooks/webhooks.signing'
import type { Resolver } from '../src/webhooks/webhooks.target'
import { startTlsReceiver, type TlsReceiver } from './helpers/tls'

/**
 * The sender against a real HTTP server on 127.0.0.1 (so private targets are allowed here), one
 * route per receiver behaviour. The receiver verifies every request with the `standardwebhooks`
 * package, the reference implementation.
 */
const secret = generateWebhookSecret()
const reference = new Webhook(secret)
const body = JSON.stringify({ id: 'evt_01JD8Z3N5W0000000000000000', type: 'user.created', data: {} })
const received: { path: string; headers: Record<string, string>; body: string; verified: boolean }[] = []
const releaseSlow: (() => void)[] = []
const hugeCancelled = Promise.withResolvers<void>()

const receiver = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(request) {
    const path = new URL(request.url).pathname
    const text = await request.text()
    const headers = Object.fromEntries(request.headers)
    let verified = false
    try {
      reference.verify(text, headers)
      verified = true
    } catch {}
    received.push({ path, headers, body: text, verified })
    switch (path) {
      case '/ok':
        return new Response(verified ? 'thanks' : 'bad signature', { status: verified ? 200 : 400 })
      case '/accepted':
        return new Response(null, { status: 202 })
      case '/gone':
        return new Response('unsubscribed', { status: 410 })
      case '/error':
        return new Response('boom', { status: 500 })
      case '/rate-limited':
        return new Response('slow down', { status: 429, headers: { 'retry-after': '120' } })
      case '/unavailable':
        return new Response('maintenance', {
          status: 503,
          headers: { 'retry-after': new Date(Date.now() + 3_600_000).toUTCString() },
        })
      case '/not-found-with-retry-after':
        return new Response('no', { status: 404, headers: { 'retry-after': '120' } })
      case '/redirect':
        return new Response(null, { status: 307, headers: { location: '/ok' } })
      case '/huge':
        return new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(new TextEncoder().encode('x'.repeat(64 * 1024)))
            },
            cancel() {
              hugeCancelled.resolve()
            },
          }),
          { status: 200 },
        )
      case '/unicode':
        return new Response('é'.repeat(600), { status: 500 })
      case '/slow':
        return new Promise<Response>((resolve) => releaseSlow.push(() => resolve(new Response('late'))))
      default:
        return new Response('no route', { status: 404 })
    }
  },
})
const base = `http://127.0.0.1:${receiver.port}`
let tls: TlsReceiver

beforeAll(async () => {
  tls = await startTlsReceiver('hooks.example.com', secret)
})

afterAll(() => {
  for (const release of releaseSlow) release()
  receiver.stop(true)
  tls?.stop()
})

const fixedClock = () => new Date()
const localOptions: WebhookSenderOptions = { timeoutMs: 15_000, allowPrivateTargets: true, clock: fixedClock }
const send = (url: string, options: Partial<WebhookSenderOptions> = {}) =>
  createWebhookSender({ ...localOptions, ...options })({
    endpoint: { url, secrets: [secret] },
    id: 'evt_01JD8Z3N5W0000000000000000',
    body,
  })
const hits = (path: string) => received.filter((r) => r.path === path).length

describe('a webhook delivery attempt', () => {
  it('is delivered on 2xx, signed so that the standardwebhooks package verifies it', async () => {
    const outcome = await send(`${base}/ok`)
    expect(outcome).toMatchObject({ result: 'delivered', statusCode: 200, responseBody: 'thanks' })
    expect(outcome.errorClass).toBeUndefined()
    const request = received.findLast((r) => r.path === '/ok')!
    expect(request.verified).toBe(true)
    expect(request.body).toBe(body)
    expect(request.headers['webhook-id']).toBe('evt_01JD8Z3N5W0000000000000000')
    expect(request.headers['content-type']).toBe('application/json')
    expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/)
  })

  it('signs with every secret given, and the receiver verifies with either', async () => {
    const [next, old] = [generateWebhookSecret(), secret]
    const outcome = await createWebhookSender(localOptions)({
      endpoint: { url: `${base}/ok`, secrets: [next, old] },
      id: 'evt_rotation',
      body,
    })
    expect(outcome.result).toBe('delivered')
    const request = received.findLast((r) => r.headers['webhook-id'] === 'evt_rotation')!
    expect(request.headers['webhook-signature']!.split(' ')).toHaveLength(2)
    expect(new Webhook(next).verify(request.body, request.headers)).toEqual(JSON.parse(body))
  })

  it('counts any 2xx as delivered', async () => {
    expect(await send(`${base}/accepted`)).toMatchObject({ result: 'delivered', statusCode: 202, responseBody: '' })
  })

  it('is gone on 410, so the endpoint gets disabled', async () => {
    expect(await send(`${base}/gone`)).toMatchObject({ result: 'gone', statusCode: 410, responseBody: 'unsubscribed' })
  })

  it('is retried on 5xx and 404, without a Retry-After unless 429 or 503', async () => {
    const error = await send(`${base}/error`)
    expect(error).toMatchObject({ result: 'retry', statusCode: 500, errorClass: 'http_status', responseBody: 'boom' })
    const notFound = await send(`${base}/not-found-with-retry-after`)
    expect(notFound).toMatchObject({ result: 'retry', statusCode: 404, errorClass: 'http_status' })
    expect(notFound.retryAfterMs).toBeUndefined()
  })

  it('honours Retry-After in seconds on 429', async () => {
    expect(await send(`${base}/rate-limited`)).toMatchObject({ result: 'retry', statusCode: 429, retryAfterMs: 120_000 })
  })

  it('honours Retry-After as an HTTP-date on 503', async () => {
    const outcome = await send(`${base}/unavailable`)
    expect(outcome).toMatchObject({ result: 'retry', statusCode: 503 })
    // The date was one hour ahead when the receiver wrote it, in whole seconds.
    expect(outcome.retryAfterMs).toBeGreaterThan(3_500_000)
    expect(outcome.retryAfterMs).toBeLessThanOrEqual(3_600_000)
  })

  it('does not follow a redirect: it is a failure, and the target it names is not called', async () => {
    const before = hits('/ok')
    const outcome = await send(`${base}/redirect`)
    expect(outcome).toMatchObject({ result: 'retry', statusCode: 307, errorClass: 'redirect' })
    expect(hits('/ok')).toBe(before)
  })

  it('keeps only the first KiB of a huge response and stops reading it', async () => {
    const outcome = await send(`${base}/huge`)
    expect(outcome).toMatchObject({ result: 'delivered', statusCode: 200, responseTruncated: true })
    expect(outcome.responseBody).toBe('x'.repeat(1024))
    // The receiver sees its endless body cancelled: the connection was closed, not drained.
    await hugeCancelled.promise
  })

  it('keeps a body cut inside a character as text, without failing', async () => {
    const outcome = await send(`${base}/unicode`)
    expect(outcome.responseBody?.startsWith('é'.repeat(512))).toBe(true)
    expect(outcome.responseTruncated).toBe(true)
  })

  it('times out when the receiver does not answer within the timeout', async () => {
    const outcome = await send(`${base}/slow`, { timeoutMs: 200 })
    expect(outcome).toMatchObject({ result: 'retry', errorClass: 'timeout' })
    expect(outcome.statusCode).toBeUndefined()
  })

  it('is retried when nothing listens, with the platform error code and nothing else', async () => {
    const closed = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
    const url = `http://127.0.0.1:${closed.port}/ok`
    closed.stop(true)
    const outcome = await send(url)
    expect(outcome).toMatchObject({ result: 'retry', errorClass: 'connection', errorCode: 'ECONNREFUSED' })
    expect(JSON.stringify(outcome)).not.toContain(secret.slice(6))
  })

  it('records when it was attempted (the clock given) and how long it took', async () => {
    const at = new Date('2026-11-30T08:00:00.000Z')
    const outcome = await send(`${base}/accepted`, { clock: () => at })
    expect(outcome.attemptedAt).toEqual(at)
    expect(Number.isInteger(outcome.durationMs) && outcome.durationMs >= 0).toBe(true)
  })
})

describe('a webhook delivery attempt and the SSRF guard', () => {
  const resolver: Resolver = async (hostname) => {
    if (hostname === 'hooks.example.com') return [{ address: '127.0.0.1', family: 4 }]
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
  }

  it('connects to the address the resolver vetted, keeping the URL host in the Host header', async () => {
    const url = `http://hooks.example.com:${receiver.port}/ok`
    expect(await send(url, { resolver })).toMatchObject({ result: 'delivered', statusCode: 200 })
    expect(received.findLast((r) => r.path === '/ok')?.headers.host).toBe(`hooks.example.com:${receiver.port}`)
  })

  it('refuses a name that resolves to loopback in production, and sends nothing', async () => {
    const before = received.length
    const outcome = await send(`https://hooks.example.com:${receiver.port}/ok`, { resolver, allowPrivateTargets: false })
    expect(outcome).toMatchObject({ result: 'retry', errorClass: 'target_refused', errorCode: 'private_address' })
    expect(received.length).toBe(before)
  })

  it('refuses http:// in production before any connection', async () => {
    const before = received.length
    expect(await send(`${base}/ok`, { allowPrivateTargets: false })).toMatchObject({
      result: 'retry',
      errorClass: 'target_refused',
      errorCode: 'scheme_not_allowed',
    })
    expect(received.length).toBe(before)
  })

  it('is retried when the name does not resolve', async () => {
    expect(await send('http://nowhere.example.com/ok', { resolver })).toMatchObject({
      result: 'retry',
      errorClass: 'dns',
      errorCode: 'unresolvable',
    })
  })

  it('speaks TLS to the pinned address and checks the certificate against the URL host', async () => {
    const url = `https://hooks.example.com:${tls.port}/ok`
    expect(await send(url, { resolver, ca: tls.certificate })).toMatchObject({ result: 'delivered', statusCode: 200 })
    expect(tls.received.at(-1)?.host).toBe(`hooks.example.com:${tls.port}`)
    expect(tls.received.at(-1)?.verified).toBe(true)
  })

  it('fails with a TLS error when the certificate is not for the URL host', async () => {
    const other: Resolver = async () => [{ address: '127.0.0.1', family: 4 }]
    const outcome = await send(`https://other.example.com:${tls.port}/ok`, { resolver: other, ca: tls.certificate })
    expect(outcome).toMatchObject({ result: 'retry', errorClass: 'tls', errorCode: 'ERR_TLS_CERT_ALTNAME_INVALID' })
  })

  it('fails with a TLS error when the certificate is not trusted', async () => {
    const outcome = await send(`https://hooks.example.com:${tls.port}/ok`, { resolver })
    expect(outcome).toMatchObject({ result: 'retry', errorClass: 'tls', errorCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
  })
})
