import { describe, expect, it } from 'bun:test'
import { SignJWT } from 'jose'
import { createAuthenticator } from '../src/auth/authenticate'
import { loadConfig, testConfig } from '../src/config'
import { LEGACY_DEPRECATION } from '../src/legacy'
import { createMetrics } from '../src/observability/metrics'
import { generateOpenApi } from '../src/openapi'
import session from './fixtures/flask-seed-session.json'
import { useTestApp } from './helpers/context'
import { apiKey } from './helpers/keys'
import { expectProblem, pointers } from './helpers/problem'

const reader = apiKey('reader', ['users:read'])
const writer = apiKey('old-client', ['users:read', 'users:write'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])

// Auth on, as production requires: the legacy routes are guarded exactly like /v1.
const t = await useTestApp({
  name: 'legacy_routes',
  deps: {
    config: testConfig({ legacyRoutes: true }),
    authenticator: createAuthenticator({ apiKeys: [reader.entry, writer.entry, admin.entry], jwt: undefined }),
  },
})
const off = await useTestApp({ name: 'legacy_off' })
// Its own metrics registry, so counts start at zero.
const fresh = await useTestApp({
  name: 'legacy_metrics',
  deps: {
    config: testConfig({ legacyRoutes: true }),
    metrics: createMetrics(),
    authenticator: createAuthenticator({ apiKeys: [writer.entry], jwt: undefined }),
  },
})

type Init = { method?: string; body?: unknown; key?: string }
const call = (path: string, { method = 'GET', body, key = writer.key }: Init = {}, app = t) =>
  app.raw(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })

// Tests that hash passwords (about 100 ms each, seconds on a loaded machine) get more time.
const HASHING = { timeout: 60_000 }

const SUCCESSOR = /^<\/v1\/users[^>]*>; rel="successor-version"$/

function expectDeprecated(res: Response) {
  expect(res.headers.get('deprecation')).toBe(LEGACY_DEPRECATION)
  expect(res.headers.get('link')).toMatch(SUCCESSOR)
}

/**
 * Compares a recorded seed body with ours: each recorded `{"$oid": X}` must be a real id, the same
 * one wherever X appears; `removedFields` (the plain-text password) must be absent from ours.
 */
function expectLikeRecording(actual: unknown, recorded: unknown, ids: Map<string, string>, path = ''): void {
  if (Array.isArray(recorded)) {
    expect(Array.isArray(actual), path).toBe(true)
    expect((actual as unknown[]).length, path).toBe(recorded.length)
    recorded.forEach((item, i) => void expectLikeRecording((actual as unknown[])[i], item, ids, `${path}/${i}`))
    return
  }
  if (recorded && typeof recorded === 'object') {
    const record = recorded as Record<string, unknown>
    const ours = actual as Record<string, unknown>
    if (typeof record.$oid === 'string') {
      expect(ours.$oid, path).toMatch(/^[0-9a-f]{24}$/)
      if (!ids.has(record.$oid)) ids.set(record.$oid, ours.$oid as string)
      expect(ours.$oid, `${path}: the same recorded id maps to one id`).toBe(ids.get(record.$oid) as string)
      return
    }
    const expectedKeys = Object.keys(record).filter((key) => !session.removedFields.includes(key))
    expect(Object.keys(ours).sort(), path).toEqual(expectedKeys.sort())
    for (const key of expectedKeys) expectLikeRecording(ours[key], record[key], ids, `${path}/${key}`)
    return
  }
  expect(actual, path).toEqual(recorded)
}

describe('compatibility routes: a recorded session of the Flask service, replayed', () => {
  it(
    'answers every step as the seed did, minus the password, with Deprecation and Link',
    async () => {
      const ids = new Map<string, string>()
      for (const [n, { request, response }] of session.steps.entries()) {
        const res = await call(request.path, { method: request.method, body: 'body' in request ? request.body : undefined })
        expect(`step ${n}: ${res.status}`).toBe(`step ${n}: ${response.status}`)
        expect(res.headers.get('content-type')).toStartWith('application/json')
        expectDeprecated(res)
        expectLikeRecording(await res.json(), response.body, ids, `step ${n}`)
      }
      expect(ids.size).toBe(2)
      // What is left afterwards is what /v1 shows, and the password works there (it was hashed).
      const alice = ids.get('6565a1f0c2b6a93d1e4f0a11') as string
      const v1 = await t.raw(`/v1/users/${alice}`, { headers: { authorization: `Bearer ${reader.key}` } })
      expect(v1.status).toBe(200)
      expect(await v1.json()).toMatchObject({ username: 'alice', email: 'alice@wonderland.example', hasPassword: true })
      const verify = await t.raw('/v1/auth/verify', {
        method: 'POST',
        headers: { authorization: `Bearer ${reader.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ login: 'alice', password: 'wonderland-1' }),
      })
      expect(verify.status).toBe(200)
      const stored = JSON.stringify(await t.collection.find().toArray())
      expect(stored).not.toContain('wonderland-1')
      expect(stored).not.toContain('builder-2222')
    },
    HASHING,
  )

  it('links each answer to the /v1 route that replaces it', async () => {
    const created = await call('/create', { method: 'POST', body: { username: 'carol', email: 'carol@example.com' } })
    const { _id } = (await created.json()) as { _id: { $oid: string } }
    expect(created.headers.get('link')).toBe(`</v1/users/${_id.$oid}>; rel="successor-version"`)
    expect((await call('/read')).headers.get('link')).toBe('</v1/users>; rel="successor-version"')
    expect((await call('/read/CAROL')).headers.get('link')).toBe(`</v1/users/${_id.$oid}>; rel="successor-version"`)
    const missing = await call('/read/nobody')
    await expectProblem(missing, 404, 'user_not_found')
    expect(missing.headers.get('link')).toBe('</v1/users/by-username/nobody>; rel="successor-version"')
    expect(missing.headers.get('deprecation')).toBe(LEGACY_DEPRECATION)
  })
})

describe('compatibility routes keep the seed holes closed', () => {
  it('refuses fields the seed would have mass-assigned, and creates nothing', async () => {
    const before = await t.collection.countDocuments()
    const res = await call('/create', {
      method: 'POST',
      body: { username: 'mallory', email: 'm@example.com', _id: 'x', is_admin: true, version: 7 },
    })
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:/_id', 'body:/is_admin', 'body:/version'])
    expectDeprecated(res)
    expect(await t.collection.countDocuments()).toBe(before)
  })

  it.each([
    ['/create', 'POST'],
    ['/update/nobody-here', 'PUT'],
  ])('%s reads only JSON in valid UTF-8, as /v1 does', async (path, method) => {
    const before = await t.collection.countDocuments()
    const headers = { authorization: `Bearer ${writer.key}` }
    const patchTyped = await t.raw(path, {
      method,
      headers: { ...headers, 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ username: 'typed', email: 'typed@example.com' }),
    })
    await expectProblem(patchTyped, 415, 'unsupported_media_type')
    expectDeprecated(patchTyped)
    const prefix = new TextEncoder().encode('{"username":"utf","email":"utf@example.com","password":"pass-')
    const body = new Uint8Array([...prefix, 0xc3, 0x28, ...new TextEncoder().encode('word"}')])
    const broken = await t.raw(path, { method, headers: { ...headers, 'content-type': 'application/json' }, body })
    await expectProblem(broken, 400, 'malformed_json')
    expect(await t.collection.countDocuments()).toBe(before)
  })

  it('applies the /v1 rules: username format, password length, case-insensitive uniqueness', async () => {
    const bad = await call('/create', { method: 'POST', body: { username: 'a b', email: 'nope', password: 'short' } })
    expect(pointers(await expectProblem(bad, 400, 'validation_failed'))).toEqual([
      'body:/email',
      'body:/password',
      'body:/username',
    ])
    await call('/create', { method: 'POST', body: { username: 'dave', email: 'dave@example.com' } })
    await expectProblem(
      await call('/create', { method: 'POST', body: { username: 'DAVE', email: 'd2@example.com' } }),
      409,
      'username_taken',
    )
    const empty = await call('/update/dave', { method: 'PUT', body: {} })
    await expectProblem(empty, 400, 'validation_failed')
  })

  it('needs the same scopes as /v1: users:write to write, users:admin for role and is_active', async () => {
    const anonymous = await t.raw('/read')
    await expectProblem(anonymous, 401, 'unauthorized')
    expect(anonymous.headers.get('deprecation')).toBe(LEGACY_DEPRECATION)
    await expectProblem(
      await call('/create', { method: 'POST', body: { username: 'erin', email: 'e@example.com' }, key: reader.key }),
      403,
      'forbidden',
    )
    await expectProblem(await call('/delete/dave', { method: 'DELETE', key: reader.key }), 403, 'forbidden')
    await expectProblem(
      await call('/create', { method: 'POST', body: { username: 'erin', email: 'e@example.com', role: 'admin' } }),
      403,
      'forbidden',
    )
    await expectProblem(await call('/update/dave', { method: 'PUT', body: { is_active: false } }), 403, 'forbidden')
    const disabled = await call('/update/dave', { method: 'PUT', body: { is_active: false }, key: admin.key })
    expect(disabled.status).toBe(200)
    expect(await disabled.json()).toMatchObject({ username: 'dave', is_active: false })
  })
})

describe('PUT /update/{username}', () => {
  it(
    'changes only the fields sent, hashes a new password, and renames',
    async () => {
      await call('/create', {
        method: 'POST',
        body: { username: 'frank', email: 'frank@example.com', password: 'first-password' },
      })
      const res = await call('/update/FRANK', { method: 'PUT', body: { username: 'frank.n', password: 'second-password' } })
      expect(res.status).toBe(200)
      const body = (await res.json()) as { _id: { $oid: string } }
      expect(body).toMatchObject({ username: 'frank.n', email: 'frank@example.com', role: 'user', is_active: true })
      expect(res.headers.get('link')).toBe(`</v1/users/${body._id.$oid}>; rel="successor-version"`)
      const login = (password: string) =>
        t.raw('/v1/auth/verify', {
          method: 'POST',
          headers: { authorization: `Bearer ${reader.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ login: 'frank.n', password }),
        })
      expect((await login('second-password')).status).toBe(200)
      expect((await login('first-password')).status).toBe(401)
      await expectProblem(await call('/update/frank', { method: 'PUT', body: { email: 'x@example.com' } }), 404, 'user_not_found')
      await expectProblem(await call('/delete/frank', { method: 'DELETE' }), 404, 'user_not_found')
    },
    HASHING,
  )
})

describe('compatibility routes: operations', () => {
  it('are counted by route and caller in /metrics', async () => {
    await call('/read', {}, fresh)
    await call('/read', {}, fresh)
    await call('/read/nobody', {}, fresh)
    const text = await (await fresh.raw('/metrics')).text()
    expect(text).toContain('legacy_requests_total{route="/read",caller="old-client"} 2')
    expect(text).toContain('legacy_requests_total{route="/read/{username}",caller="old-client"} 1')
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/read\/\{username\}",status="404"\} 1/)
  })

  it('count every JWT caller as caller="jwt": subjects are not metric labels', async () => {
    const secret = 'a-legacy-hs256-secret-of-32-characters!!'
    const jwtApp = await useTestApp({
      name: 'legacy_metrics_jwt',
      deps: {
        config: testConfig({ legacyRoutes: true }),
        metrics: createMetrics(),
        authenticator: createAuthenticator({
          apiKeys: [writer.entry],
          jwt: {
            secret,
            jwksUrl: undefined,
            issuer: 'https://idp.example.com/',
            audience: 'users-service',
            algorithms: ['HS256'],
          },
        }),
      },
    })
    const token = (sub: string) =>
      new SignJWT({ scope: 'users:read' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('https://idp.example.com/')
        .setAudience('users-service')
        .setSubject(sub)
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret))
    for (const sub of ['svc-one', 'svc-two', 'end-user-4711']) {
      expect((await call('/read/nobody', { key: await token(sub) }, jwtApp)).status).toBe(404)
    }
    await call('/read/nobody', {}, jwtApp)
    const text = await (await jwtApp.raw('/metrics')).text()
    expect(text).toContain('legacy_requests_total{route="/read/{username}",caller="jwt"} 3')
    expect(text).toContain('legacy_requests_total{route="/read/{username}",caller="old-client"} 1')
    for (const sub of ['svc-one', 'svc-two', 'end-user-4711']) expect(text).not.toContain(sub)
  })

  it('are off by default: 404 not_found as if they did not exist, no deprecation headers, nothing counted', async () => {
    for (const [method, path] of [
      ['POST', '/create'],
      ['GET', '/read'],
      ['GET', '/read/alice'],
      ['PUT', '/update/alice'],
      ['DELETE', '/delete/alice'],
    ] as const) {
      const res = await call(
        path,
        { method, ...(method === 'POST' || method === 'PUT' ? { body: { username: 'x1x' } } : {}) },
        off,
      )
      await expectProblem(res, 404, 'not_found')
      expect(res.headers.get('deprecation')).toBeNull()
    }
    expect(await (await off.raw('/metrics')).text()).not.toContain('legacy_requests_total{')
    // Other routes are untouched by the legacy middleware.
    expect((await off.raw('/healthz')).headers.get('deprecation')).toBeNull()
  })

  it('are in the OpenAPI document under `legacy`, deprecated, whether on or off', () => {
    const document = generateOpenApi(off.app) as unknown as {
      paths: Record<string, Record<string, { deprecated?: boolean; tags?: string[] }>>
    }
    const legacy = [
      ['/create', 'post'],
      ['/read', 'get'],
      ['/read/{username}', 'get'],
      ['/update/{username}', 'put'],
      ['/delete/{username}', 'delete'],
    ] as const
    for (const [path, method] of legacy) {
      expect(document.paths[path]?.[method]).toMatchObject({ deprecated: true, tags: ['legacy'] })
    }
    expect(JSON.stringify(generateOpenApi(t.app))).toBe(JSON.stringify(document))
    expect(document.paths['/v1/users']?.post?.deprecated).toBeUndefined()
  })
})

describe('LEGACY_ROUTES', () => {
  it('is off by default, on with "true", and refuses anything else', () => {
    expect(loadConfig({}).legacyRoutes).toBe(false)
    expect(loadConfig({ LEGACY_ROUTES: 'true' }).legacyRoutes).toBe(true)
    expect(loadConfig({ LEGACY_ROUTES: 'false' }).legacyRoutes).toBe(false)
    expect(() => loadConfig({ LEGACY_ROUTES: 'yes' })).toThrow("LEGACY_ROUTES: must be 'true' or 'false'")
  })
})
