import { describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { MongoBulkWriteError, MongoClient, MongoServerError } from 'mongodb'
import { Counter, Histogram, Registry } from 'prom-client'
import pkg from '../package.json' with { type: 'json' }
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import { createLogger } from '../src/logger'
import { createMetrics, REQUEST_DURATION_BUCKETS } from '../src/observability/metrics'
import { json, newUser, useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

const t = await useTestApp({ name: 'observability' })

/** A real pino logger writing JSON lines into memory. */
function memoryLogger() {
  const chunks: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString())
      done()
    },
  })
  const logger = createLogger({ logLevel: 'info', logFormat: 'json' }, destination)
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
  }
}

describe('request logs', () => {
  it('writes one line per request: request id, method, route template, status, duration, caller', async () => {
    const user = await t.createUser()
    t.logger.lines.length = 0
    await t.raw(`/v1/users/${user.id}`, { headers: { 'x-request-id': 'log-me' } })
    expect(t.logger.lines).toHaveLength(1)
    expect(t.logger.lines[0]).toMatchObject({
      level: 'info',
      message: 'request',
      object: { requestId: 'log-me', method: 'GET', route: '/v1/users/{id}', status: 200, caller: 'anonymous (auth off)' },
    })
    const { durationMs } = t.logger.lines[0]!.object as { durationMs: number }
    expect(durationMs).toBeGreaterThanOrEqual(0)
  })

  it('names no raw path for unknown routes', async () => {
    t.logger.lines.length = 0
    await t.raw('/no/such/thing/42')
    expect(t.logger.lines[0]?.object).toMatchObject({ route: 'unmatched', status: 404 })
    // The body limit is mounted on POST, PUT and PATCH of every path: never taken for a route.
    for (const method of ['POST', 'PUT', 'PATCH']) {
      t.logger.lines.length = 0
      await t.raw('/no/such/thing/42', { method, headers: { 'content-type': 'application/json' }, body: '{}' })
      expect(t.logger.lines[0]?.object).toMatchObject({ method, route: 'unmatched', status: 404 })
    }
  })

  it('redacts secrets wherever they appear in a logged object', () => {
    const { logger, text } = memoryLogger()
    logger.info({ password: 'p4ssw0rd-top', user: { password: 'nested-pw', passwordHash: '$argon2id$x' } }, 'one')
    logger.info({ headers: { authorization: 'Bearer tok-123', cookie: 'sid=abc' }, token: 'tok-456' }, 'two')
    logger.error({ context: { request: { password: 'two-deep-pw', apiKey: 'key-2-deep' } } }, 'three')
    for (const secret of [
      'p4ssw0rd-top',
      'nested-pw',
      '$argon2id$x',
      'tok-123',
      'sid=abc',
      'tok-456',
      'two-deep-pw',
      'key-2-deep',
    ]) {
      expect(text()).not.toContain(secret)
    }
    expect(text()).toContain('[redacted]')
  })

  it("keeps the values a database error carries out of the log: a duplicate key's, a failed bulk write's documents", async () => {
    const { logger, text, lines } = memoryLogger()
    // As MongoDB answers a unique index violation (FerretDB names no value; MongoDB does).
    const duplicate = new MongoServerError({
      code: 11000,
      codeName: 'DuplicateKey',
      errmsg:
        'E11000 duplicate key error collection: app.users index: emailKey_unique dup key: { emailKey: "dup.person@example.com" }',
      keyValue: { emailKey: 'dup.person@example.com' },
    })
    logger.error({ err: duplicate }, 'a write failed')
    // Not only under pino's `err`: an error anywhere in a logged object is written the same way.
    logger.error({ context: { error: duplicate, cause: new Error('wrapped', { cause: duplicate }) } }, 'elsewhere')
    // A real unordered insertMany that the server refused in part: the driver's error holds the documents.
    const client = new MongoClient(globalThis.testMongoUri)
    try {
      const events = client.db(`observability_bulk_${crypto.randomUUID().slice(0, 8)}`).collection('events')
      const failed = await events
        .insertMany(
          [
            { _id: 'evt_1', data: { user: { email: 'bulk.person@example.com' } } },
            { _id: 'evt_2', data: { user: { email: 'bulk.person@example.com', nested: [[1]] } } },
          ] as never,
          { ordered: false },
        )
        .then(
          () => null,
          (error: unknown) => error,
        )
      expect(failed).toBeInstanceOf(MongoBulkWriteError)
      logger.warn({ err: failed }, 'events relay: a batch failed')
      await events.db.dropDatabase()
    } finally {
      await client.close()
    }
    for (const value of ['dup.person@example.com', 'bulk.person@example.com']) expect(text()).not.toContain(value)
    // What stays: the class, the codes, the message without the value, and the stack.
    const [first, elsewhere, second] = lines()
    expect(first.err).toMatchObject({ type: 'MongoServerError', code: 11000, codeName: 'DuplicateKey' })
    expect(first.err.message).toContain('index: emailKey_unique dup key: { [redacted] }')
    expect(elsewhere.context.error).toMatchObject({ type: 'MongoServerError', code: 11000 })
    expect(elsewhere.context.cause.cause).toMatchObject({ type: 'MongoServerError', code: 11000 })
    expect(second.err).toMatchObject({ type: 'MongoBulkWriteError', stack: expect.any(String) })
    // Neither the failed documents nor the server's quote of the refused value.
    expect(second.err.writeErrors).toBeUndefined()
    expect(second.err.message).toContain('{ [redacted] }')
  })

  it('does not write what lies deeper than it looks, and redacts webhook secrets, emails and response bodies', () => {
    const { logger, text } = memoryLogger()
    logger.info({ a: { b: { c: { d: { e: { f: { g: { h: 'too-deep-value' } } } } } } } }, 'deep')
    logger.info({ endpoint: { secrets: ['whsec_c2VjcmV0'], Email: 'someone@example.com', responseBody: 'echo' } }, 'webhook')
    // An error's cause that is data, not an error, is walked like the rest.
    logger.warn({ err: new Error('wrapped', { cause: { password: 'cause-pw', user: { email: 'cause@example.com' } } }) }, 'cause')
    for (const value of ['too-deep-value', 'whsec_c2VjcmV0', 'someone@example.com', '"echo"', 'cause-pw', 'cause@example.com']) {
      expect(text()).not.toContain(value)
    }
    expect(text()).toContain('[too deep]')
  })

  it('redacts in arrays, at any depth, whatever the case, without changing the logged object', () => {
    const { logger, text } = memoryLogger()
    const logged = {
      users: [{ name: 'a', Password: 'array-pw' }],
      a: { b: { c: { d: { Authorization: 'deep-token' } } } },
      // The Kelvin sign lower-cases to an ASCII k: 'to\u212Aen' is 'token' in any case.
      'to\u212Aen': 'kelvin-token',
      kept: 'visible-value',
    }
    logger.info(logged, 'four')
    expect(text()).not.toContain('array-pw')
    expect(text()).not.toContain('deep-token')
    expect(text()).not.toContain('kelvin-token')
    expect(text()).toContain('visible-value')
    expect(logged.users[0]!.Password).toBe('array-pw')
    expect(logged.a.b.c.d.Authorization).toBe('deep-token')
  })

  it('keeps passwords and tokens out of the real log output of a whole request flow', async () => {
    const { logger, text, lines } = memoryLogger()
    const apiKey = 'usk_flow-token-9-0123456789abcdef'
    const app = await useTestApp({
      name: 'observability_pino',
      deps: {
        logger,
        authenticator: createAuthenticator({
          apiKeys: [
            { name: 'flow', sha256: createHash('sha256').update(apiKey).digest('hex'), scopes: ['users:read', 'users:write'] },
          ],
          jwt: undefined,
        }),
        users: {
          ...t.users,
          updateAtVersion: async () => {
            throw new Error('kaboom')
          },
        },
      },
    })
    const password = 'flow-secret-password-1'
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }
    const created = await app.raw('/v1/users', { ...json(newUser({ password })), headers })
    expect(created.status).toBe(201)
    const { id } = await created.json()
    const failed = await app.raw(`/v1/users/${id}`, { method: 'PATCH', headers, body: JSON.stringify({ password }) })
    await expectProblem(failed, 500, 'internal_error')
    // A refused token must not be logged either.
    await expectProblem(
      await app.raw('/v1/users', { headers: { authorization: 'Bearer eyJ.wrong-token-77.x' } }),
      401,
      'unauthorized',
    )
    expect(lines().map((l) => l.msg)).toEqual(['request', 'unhandled error', 'request failed', 'request'])
    expect(lines()[0]).toMatchObject({ caller: 'flow' })
    for (const secret of [password, apiKey, 'wrong-token-77']) expect(text()).not.toContain(secret)
  })
})

describe('GET /metrics', () => {
  it('exposes request counts and durations by method, route template and status', async () => {
    const user = await t.createUser()
    await t.raw(`/v1/users/${user.id}`)
    await t.raw('/v1/users/0123456789abcdef01234567')
    const res = await t.raw('/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/plain')
    const text = await res.text()
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/v1\/users\/\{id\}",status="200"\} [1-9]/)
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/v1\/users\/\{id\}",status="404"\} [1-9]/)
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/v1\/users",status="201"\}/)
    expect(text).not.toContain(user.id)
    expect(text).not.toContain('0123456789abcdef01234567')
  })

  it("writes request counts and durations exactly as prom-client's Counter and Histogram would", async () => {
    // The same observations into the service's metrics and into prom-client's own metric types.
    const reference = new Registry()
    const labelNames = ['method', 'route', 'status'] as const
    const counter = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered.',
      labelNames,
      registers: [reference],
    })
    const histogram = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, in seconds.',
      labelNames,
      buckets: REQUEST_DURATION_BUCKETS,
      registers: [reference],
    })
    const metrics = createMetrics()
    const observations: [string, string, number, number][] = [
      ['GET', '/v1/users/{id}', 200, 0.0004],
      ['GET', '/v1/users/{id}', 200, 0.001],
      ['GET', '/v1/users/{id}', 404, 0.0025],
      ['POST', '/v1/users', 201, 0.3],
      ['GET', '/v1/users/{id}', 200, 5],
      ['PATCH', '/v1/users/{id}', 412, 7.5],
      ['GET', 'unmatched', 404, 0],
      ['GET', '/v1/users/{id}', 200, 0.0123456789],
    ]
    for (const [method, route, status, seconds] of observations) {
      metrics.observeRequest(method, route, status, seconds)
      counter.inc({ method, route, status: String(status) })
      histogram.observe({ method, route, status: String(status) }, seconds)
    }
    const blocks = (text: string) =>
      text
        .split('\n\n')
        .map((block) => block.trimEnd())
        .filter((block) => /^# HELP http_request(s_total|_duration_seconds) /.test(block))
    const ours = blocks(await metrics.render())
    expect(ours).toHaveLength(2)
    expect(ours).toEqual(blocks(await reference.metrics()))
  })

  it('exposes MongoDB pool gauges and process metrics', async () => {
    const text = await (await t.raw('/metrics')).text()
    const open = Number(/^mongodb_pool_connections (\d+)$/m.exec(text)?.[1])
    expect(open).toBeGreaterThan(0)
    expect(text).toMatch(/^mongodb_pool_checked_out_connections \d+$/m)
    expect(text).toMatch(/^mongodb_pool_wait_queue_size \d+$/m)
    // A count that only grows is a counter, so rate() and increase() read it right.
    expect(text).toMatch(/^# TYPE mongodb_pool_checkout_failures_total counter$/m)
    expect(text).toMatch(/^mongodb_pool_checkout_failures_total \d+$/m)
    expect(text).toMatch(/^process_cpu_seconds_total /m)
    expect(text).toMatch(/^process_resident_memory_bytes /m)
  })

  it('names the build: version, runtime and its real version, never the Node version Bun emulates', async () => {
    const text = await (await t.raw('/metrics')).text()
    expect(text).toContain(`users_service_build_info{version="${pkg.version}",runtime="bun",runtime_version="${Bun.version}"} 1`)
    // prom-client's nodejs_version_info reads process.version, which on Bun is a Node version (v26.3.0).
    expect(text).not.toContain('nodejs_version_info')
  })

  it('exports the counters alerts watch from zero at 0 before their first increment', async () => {
    const text = await createMetrics({}).render()
    for (const limit of ['login', 'ip', 'client']) {
      expect(text).toMatch(new RegExp(`^auth_verify_rate_limited_total\\{limit="${limit}"\\} 0$`, 'm'))
    }
    for (const reason of ['exhausted', 'gone', 'skipped']) {
      expect(text).toMatch(new RegExp(`^webhook_deliveries_failed_total\\{reason="${reason}"\\} 0$`, 'm'))
    }
  })

  it('exposes the password-hashing pool when given one', async () => {
    const metrics = createMetrics({
      hashingStats: () => ({ running: 2, queued: { verify: 1, hash: 7 }, rejected: { verify: 0, hash: 5 } }),
    })
    const text = await metrics.render()
    expect(text).toMatch(/^password_hash_running 2$/m)
    expect(text).toMatch(/^password_hash_queued\{lane="hash"\} 7$/m)
    expect(text).toMatch(/^password_hash_rejected_total\{lane="hash"\} 5$/m)
    expect(text).toMatch(/^password_hash_rejected_total\{lane="verify"\} 0$/m)
  })

  it('needs the bearer token when METRICS_TOKEN is set', async () => {
    const token = 'metrics-token-0123456789'
    const secured = await useTestApp({
      name: 'observability_token',
      deps: { config: testConfig({ metricsToken: token }), metrics: createMetrics() },
    })
    const denied = await secured.raw('/metrics')
    await expectProblem(denied, 401, 'unauthorized')
    expect(denied.headers.get('www-authenticate')).toStartWith('Bearer')
    await expectProblem(
      await secured.raw('/metrics', { headers: { authorization: 'Bearer wrong-token-000000000' } }),
      401,
      'unauthorized',
    )
    const allowed = await secured.raw('/metrics', { headers: { authorization: `Bearer ${token}` } })
    expect(allowed.status).toBe(200)
    expect(await allowed.text()).toContain('http_requests_total')
  })
})

describe('security headers and CORS', () => {
  it('sets the usual security headers on every response', async () => {
    for (const res of [await t.raw('/healthz'), await t.raw('/v1/users/nope')]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
      expect(res.headers.get('strict-transport-security')).toContain('max-age=')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    }
  })

  it('sends no CORS headers unless origins are configured', async () => {
    const res = await t.raw('/healthz', { headers: { origin: 'https://app.example.com' } })
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('allows only the configured origins, exposing ETag and X-Request-Id', async () => {
    const app = await useTestApp({
      name: 'observability_cors',
      deps: { config: testConfig({ corsOrigins: ['https://app.example.com'] }) },
    })
    const preflight = await app.raw('/v1/users', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'if-match',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('if-match')
    const simple = await app.raw('/healthz', { headers: { origin: 'https://app.example.com' } })
    expect(simple.headers.get('access-control-expose-headers')).toContain('ETag')
    const other = await app.raw('/healthz', { headers: { origin: 'https://evil.example.net' } })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })
})
