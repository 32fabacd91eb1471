import { describe, expect, it } from 'bun:test'
import { MongoClient } from 'mongodb'
import { testConfig } from '../src/config'
import { attachDatabase } from '../src/db/calls'
import { createUsersRepository } from '../src/users/users.repository'
import { json, newUser, useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

const t = await useTestApp({ name: 'http' })

describe('unknown routes and methods', () => {
  it('answers 404 not_found problem for an unknown path', async () => {
    const problem = await expectProblem(await t.raw('/v2/users'), 404, 'not_found')
    expect(problem.instance).toBe('/v2/users')
    await expectProblem(await t.raw('/v1/users/0123456789abcdef01234567/extra'), 404, 'not_found')
  })

  it.each([
    ['PUT', '/v1/users/0123456789abcdef01234567', 'GET, PATCH, DELETE'],
    ['POST', '/v1/users/0123456789abcdef01234567', 'GET, PATCH, DELETE'],
    ['DELETE', '/v1/users', 'POST, GET'],
    ['POST', '/healthz', 'GET'],
    // The body limit's own mount (POST, PUT, PATCH on every path) allows nothing.
    ['PATCH', '/v1/auth/verify', 'POST'],
  ])('answers 405 with Allow for %s %s', async (method, path, allow) => {
    const res = await t.raw(path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: method === 'DELETE' ? null : '{}',
    })
    await expectProblem(res, 405, 'method_not_allowed')
    expect(
      res.headers
        .get('allow')
        ?.split(', ')
        .filter((m) => m !== 'HEAD')
        .sort(),
    ).toEqual(allow.split(', ').sort())
  })
})

describe('X-Request-Id', () => {
  it('echoes an acceptable id on success and in problems', async () => {
    const ok = await t.raw('/healthz', { headers: { 'x-request-id': 'abc.DEF_123-x' } })
    expect(ok.headers.get('x-request-id')).toBe('abc.DEF_123-x')
    const bad = await t.raw('/v1/users/nope', { headers: { 'x-request-id': 'trace-42' } })
    const problem = await expectProblem(bad, 400, 'validation_failed')
    expect(problem.requestId).toBe('trace-42')
  })

  it('generates one when absent', async () => {
    const res = await t.raw('/healthz')
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it.each([['has spaces'], ['a'.repeat(129)], ['inj"ect'], ['<script>'], ['x\u00e9']])(
    'replaces an unacceptable id (%s) with a generated one',
    async (offered) => {
      const res = await t.raw('/healthz', { headers: { 'x-request-id': offered } })
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    },
  )
})

/** What hono/secure-headers sends with its defaults, which every answer has carried since issue 1. */
const SECURITY_HEADERS = {
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
}

describe('security headers', () => {
  it.each([
    [200, '/healthz', {}],
    [404, '/no/such/route', {}],
    [405, '/healthz', { method: 'POST' }],
    [400, '/v1/users/nope', {}],
    [413, '/v1/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(70_000) }],
  ] as const)('come with a %i, with the request id, and nothing claims a framework', async (status, path, init) => {
    const res = await t.raw(path, { ...init, headers: { ...('headers' in init ? init.headers : {}), 'x-request-id': 'sec-1' } })
    expect(res.status).toBe(status)
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name)).toBe(value)
    expect(res.headers.get('x-request-id')).toBe('sec-1')
    expect(res.headers.has('x-powered-by')).toBe(false)
    expect(res.headers.has('content-security-policy')).toBe(false)
  })

  it('come with a user read, besides its ETag and JSON type', async () => {
    const user = await t.createUser()
    const res = await t.raw(`/v1/users/${user.id}`)
    expect(res.status).toBe(200)
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name)).toBe(value)
    expect(res.headers.get('etag')).toBe('"1"')
    expect(res.headers.get('content-type')).toBe('application/json')
  })
})

describe('failures', () => {
  it('turns an unexpected error into a 500 without internals, and logs it with the request id', async () => {
    const broken = await useTestApp({
      name: 'http_broken',
      deps: {
        users: {
          ...t.users,
          findById: async () => {
            throw new Error('boom at mongodb://admin:hunter2@db.internal:27017 stack-secret')
          },
        },
      },
    })
    const res = await broken.raw('/v1/users/0123456789abcdef01234567', { headers: { 'x-request-id': 'req-500' } })
    const text = await res.clone().text()
    const problem = await expectProblem(res, 500, 'internal_error')
    expect(problem.requestId).toBe('req-500')
    for (const secret of ['hunter2', 'db.internal', 'stack-secret', 'boom', 'Error', 'at ']) expect(text).not.toContain(secret)
    const errors = broken.logger.lines.filter((line) => line.message === 'unhandled error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ level: 'error', object: { requestId: 'req-500' } })
  })

  it('names the route template, never the raw path, in the unhandled-error line', async () => {
    const broken = await useTestApp({
      name: 'http_broken_path',
      deps: {
        users: {
          ...t.users,
          findByEmail: async () => {
            throw new Error('boom')
          },
        },
      },
    })
    await expectProblem(await broken.raw('/v1/users/by-email/secret.person@example.com'), 500, 'internal_error')
    const errors = broken.logger.lines.filter((line) => line.message === 'unhandled error')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.object).toMatchObject({ route: '/v1/users/by-email/{email}' })
    expect(JSON.stringify(broken.logger.lines)).not.toContain('secret.person')
  })

  it('answers 503 service_unavailable with Retry-After when MongoDB cannot be reached', async () => {
    const client = new MongoClient('mongodb://127.0.0.1:1/?directConnection=true', { serverSelectionTimeoutMS: 300 })
    const down = await useTestApp({
      name: 'http_down',
      deps: {
        users: createUsersRepository(attachDatabase(client.db('x'))),
        database: { ping: async () => void (await client.db('x').command({ ping: 1 })) },
      },
    })
    for (const res of [
      await down.raw('/v1/users/0123456789abcdef01234567'),
      await down.raw('/v1/users'),
      await down.raw('/v1/users', json(newUser())),
      await down.raw('/readyz'),
    ]) {
      await expectProblem(res, 503, 'service_unavailable')
      expect(res.headers.get('retry-after')).toBe('1')
    }
    await client.close()
  })
})

describe('secrets', () => {
  it('never logs a password, even when a request carrying one fails', async () => {
    const password = 'never-log-this-password-9f3a'
    const broken = await useTestApp({
      name: 'http_secrets',
      deps: {
        users: {
          ...t.users,
          create: async () => {
            throw new Error('insert failed')
          },
        },
      },
    })
    await expectProblem(await broken.raw('/v1/users', json(newUser({ password }))), 500, 'internal_error')
    await expectProblem(await broken.raw('/v1/users', json(newUser({ password, role: 'root' }))), 400, 'validation_failed')
    expect(broken.logger.lines.length).toBeGreaterThan(0)
    expect(JSON.stringify(broken.logger.lines, (_, v) => (v instanceof Error ? `${v.message} ${v.stack}` : v))).not.toContain(
      password,
    )
  })
})

describe('body limit', () => {
  it('follows the configured limit', async () => {
    const small = await useTestApp({ name: 'http_limit', deps: { config: testConfig({ bodyLimitBytes: 2048 }) } })
    const tooLarge = await small.raw('/v1/users', json(newUser({ displayName: 'x'.repeat(2100) })))
    // The detail says what would fit.
    expect((await expectProblem(tooLarge, 413, 'payload_too_large')).detail).toBe(
      'The request body exceeds the limit of 2048 bytes.',
    )
    expect((await small.raw('/v1/users', json(newUser({ displayName: 'x'.repeat(90) })))).status).toBe(201)
  })

  it('limits only methods whose routes read a body: an oversized DELETE body is ignored', async () => {
    const res = await t.raw('/v1/users/0123456789abcdef01234567', { method: 'DELETE', body: 'x'.repeat(70 * 1024) })
    await expectProblem(res, 404, 'user_not_found')
  })
})

describe('HEAD', () => {
  it('sends the Content-Length its GET would have, not 0 (RFC 9110 §8.6), and no body', async () => {
    const user = await t.createUser()
    // Over a socket: the runtime, not the app, would otherwise write Content-Length: 0.
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: t.app.fetch })
    try {
      for (const path of [`/v1/users/${user.id}`, '/healthz', '/openapi.json']) {
        const got = await fetch(`http://127.0.0.1:${server.port}${path}`)
        const bytes = (await got.arrayBuffer()).byteLength
        const head = await fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'HEAD' })
        expect({ path, status: head.status, length: head.headers.get('content-length') }).toEqual({
          path,
          status: 200,
          length: String(bytes),
        })
        expect(bytes).toBeGreaterThan(0)
        expect((await head.arrayBuffer()).byteLength).toBe(0)
      }
    } finally {
      server.stop(true)
    }
  })
})

describe('validation messages', () => {
  it('says a missing field is required and a number in a query must be written in digits', async () => {
    const { email: _missing, ...noEmail } = newUser()
    const missing = await expectProblem(await t.raw('/v1/users', json(noEmail)), 400, 'validation_failed')
    expect(missing.errors).toEqual([{ location: 'body', pointer: '/email', code: 'invalid_type', message: 'is required' }])
    const notANumber = await expectProblem(await t.raw('/v1/users?limit=abc'), 400, 'validation_failed')
    expect(notANumber.errors).toEqual([
      { location: 'query', pointer: '/limit', code: 'invalid_format', message: 'must be a whole number, in digits' },
    ])
  })
})
