import { describe, expect, it } from 'bun:test'
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createAuthenticator } from '../src/auth/authenticate'
import { createUsersClient } from '../src/client'
import { newUser, useTestApp } from './helpers/context'
import { apiKey } from './helpers/keys'
import { expectProblem } from './helpers/problem'

const reader = apiKey('reader', ['users:read'])
const writer = apiKey('writer', ['users:read', 'users:write'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])
const writeOnly = apiKey('write-only', ['users:write'])
const adminOnly = apiKey('admin-only', ['users:admin'])
const SECRET = 'an-hs256-secret-of-at-least-32-characters!'
const ISSUER = 'https://idp.example.com/'
const AUDIENCE = 'users-service'

const t = await useTestApp({
  name: 'auth',
  deps: {
    authenticator: createAuthenticator({
      apiKeys: [reader.entry, writer.entry, admin.entry, writeOnly.entry, adminOnly.entry],
      jwt: { secret: SECRET, jwksUrl: undefined, issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] },
    }),
  },
})

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A user to read, update and delete, created with the admin key. */
async function existing() {
  const res = await t.raw('/v1/users', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(admin.key) },
    body: JSON.stringify(newUser()),
  })
  expect(res.status).toBe(201)
  return (await res.json()) as { id: string; username: string; email: string }
}

/** One user with a password for the verify calls, made once. */
let known: Promise<{ login: string; password: string }> | undefined
function credentials() {
  known ??= (async () => {
    const password = 'matrix-password-1'
    const res = await t.raw('/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(admin.key) },
      body: JSON.stringify(newUser({ password })),
    })
    return { login: ((await res.json()) as { username: string }).username, password }
  })()
  return known
}

type Call = {
  name: string
  scope: 'users:read' | 'users:write'
  ok: number
  send: (headers: Record<string, string>) => Response | Promise<Response>
}

const calls: Call[] = [
  {
    name: 'POST /v1/users',
    scope: 'users:write',
    ok: 201,
    send: (h) =>
      t.raw('/v1/users', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...h },
        body: JSON.stringify(newUser()),
      }),
  },
  { name: 'GET /v1/users', scope: 'users:read', ok: 200, send: (h) => t.raw('/v1/users?limit=1', { headers: h }) },
  {
    name: 'GET /v1/users/{id}',
    scope: 'users:read',
    ok: 200,
    send: async (h) => t.raw(`/v1/users/${(await existing()).id}`, { headers: h }),
  },
  {
    name: 'GET /v1/users/by-username/{username}',
    scope: 'users:read',
    ok: 200,
    send: async (h) => t.raw(`/v1/users/by-username/${(await existing()).username}`, { headers: h }),
  },
  {
    name: 'GET /v1/users/by-email/{email}',
    scope: 'users:read',
    ok: 200,
    send: async (h) => t.raw(`/v1/users/by-email/${encodeURIComponent((await existing()).email)}`, { headers: h }),
  },
  {
    name: 'PATCH /v1/users/{id}',
    scope: 'users:write',
    ok: 200,
    send: async (h) =>
      t.raw(`/v1/users/${(await existing()).id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', ...h },
        body: '{"displayName":"x"}',
      }),
  },
  {
    name: 'POST /v1/auth/verify',
    scope: 'users:read',
    ok: 200,
    send: async (h) =>
      t.raw('/v1/auth/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...h },
        body: JSON.stringify(await credentials()),
      }),
  },
  {
    name: 'DELETE /v1/users/{id}',
    scope: 'users:write',
    ok: 204,
    send: async (h) => t.raw(`/v1/users/${(await existing()).id}`, { method: 'DELETE', headers: h }),
  },
]

const callers = [
  { who: 'no token', headers: {}, scopes: [] as string[], status: 401 },
  { who: 'an unknown key', headers: bearer('usk_not-a-real-key'), scopes: [], status: 401 },
  { who: 'a malformed header', headers: { authorization: 'Basic dXNlcjpwYXNz' }, scopes: [], status: 401 },
  { who: 'the reader key', headers: bearer(reader.key), scopes: ['users:read'], status: 0 },
  { who: 'the write-only key', headers: bearer(writeOnly.key), scopes: ['users:write'], status: 0 },
  {
    who: 'the admin-only key (admin adds to write, implies nothing)',
    headers: bearer(adminOnly.key),
    scopes: ['users:admin'],
    status: 0,
  },
  { who: 'the writer key', headers: bearer(writer.key), scopes: ['users:read', 'users:write'], status: 0 },
  { who: 'the admin key', headers: bearer(admin.key), scopes: ['users:read', 'users:write', 'users:admin'], status: 0 },
]

describe('scope matrix: every route × every kind of caller', () => {
  for (const call of calls) {
    for (const caller of callers) {
      const expected = caller.status || (caller.scopes.includes(call.scope) ? call.ok : 403)
      it(`${call.name} with ${caller.who} → ${expected}`, async () => {
        const res = await call.send(caller.headers)
        if (expected === 401) {
          await expectProblem(res, 401, 'unauthorized')
          expect(res.headers.get('www-authenticate')).toStartWith('Bearer realm="users-service"')
        } else if (expected === 403) {
          const problem = await expectProblem(res, 403, 'forbidden')
          expect(problem.detail).toContain(call.scope)
        } else {
          expect(res.status).toBe(expected)
        }
      })
    }
  }
})

describe('the typed client', () => {
  it('sends the token it is given, from a string or a function', async () => {
    const fetchApp = ((input: RequestInfo | URL, init?: RequestInit) => t.app.fetch(new Request(input, init))) as typeof fetch
    const withKey = createUsersClient({ baseUrl: 'http://users.test', fetch: fetchApp, token: reader.key })
    expect((await withKey.v1.users.$get({ query: { limit: '1' } })).status).toBe(200)
    let calls = 0
    const refreshing = createUsersClient({
      baseUrl: 'http://users.test',
      fetch: fetchApp,
      token: async () => {
        calls++
        return reader.key
      },
      headers: { 'X-Request-Id': 'client-token-test' },
    })
    const res = await refreshing.v1.users.$get({ query: { limit: '1' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toBe('client-token-test')
    expect(calls).toBe(1)
    const without = createUsersClient({ baseUrl: 'http://users.test', fetch: fetchApp })
    expect((await without.v1.users.$get({ query: { limit: '1' } })).status).toBe(401)
  })
})

describe('authorization details', () => {
  it('checks the scope before existence: no 404-versus-403 oracle', async () => {
    const missing = '/v1/users/0123456789abcdef01234567'
    await expectProblem(await t.raw(missing, { method: 'DELETE', headers: bearer(reader.key) }), 403, 'forbidden')
    await expectProblem(await t.raw(missing, { headers: bearer(writeOnly.key) }), 403, 'forbidden')
    await expectProblem(await t.raw(missing, { method: 'DELETE', headers: bearer(writer.key) }), 404, 'user_not_found')
  })

  it('checks the scope before validating the body', async () => {
    const res = await t.raw('/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(reader.key) },
      body: '{}',
    })
    await expectProblem(res, 403, 'forbidden')
  })

  it.each([
    ['a moderator', { role: 'moderator' }],
    ['an admin', { role: 'admin' }],
    ['a disabled user', { status: 'disabled' }],
  ])('lets only users:admin create %s', async (_, fields) => {
    const body = JSON.stringify(newUser(fields))
    const post = (key: string) =>
      t.raw('/v1/users', { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(key) }, body })
    const denied = await expectProblem(await post(writer.key), 403, 'forbidden')
    expect(denied.detail).toContain('users:admin')
    expect((await post(admin.key)).status).toBe(201)
  })

  it('lets users:write create a plain active user', async () => {
    const res = await t.raw('/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(writer.key) },
      body: JSON.stringify(newUser({ role: 'user', status: 'active' })),
    })
    expect(res.status).toBe(201)
  })

  it.each([['{"role":"admin"}'], ['{"role":"user"}'], ['{"status":"disabled"}'], ['{"status":"active"}']])(
    'lets only users:admin send %s in a PATCH',
    async (body) => {
      const { id } = await existing()
      const patch = (key: string) =>
        t.raw(`/v1/users/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...bearer(key) }, body })
      await expectProblem(await patch(writer.key), 403, 'forbidden')
      expect((await patch(admin.key)).status).toBe(200)
    },
  )

  it('logs the caller by name', async () => {
    t.logger.lines.length = 0
    await t.raw('/v1/users?limit=1', { headers: bearer(reader.key) })
    expect(t.logger.lines.at(-1)?.object).toMatchObject({ caller: 'reader', status: 200 })
  })

  it('keeps health, readiness, metrics, the document and the docs public', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) expect((await t.raw(path)).status).toBe(200)
  })
})

describe('JWT bearer tokens (HS256 secret)', () => {
  const key = new TextEncoder().encode(SECRET)
  const now = () => Math.floor(Date.now() / 1000)
  /** An HS256 token for this service; `sub` or `exp` null leaves the claim out. */
  const sign = (
    claims: Record<string, unknown>,
    options: {
      alg?: string
      key?: Uint8Array
      iss?: string
      aud?: string
      exp?: number | null
      nbf?: number
      sub?: string | null
      iat?: number | null
      typ?: string
    } = {},
  ) => {
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: options.alg ?? 'HS256', ...(options.typ !== undefined ? { typ: options.typ } : {}) })
      .setIssuer(options.iss ?? ISSUER)
      .setAudience(options.aud ?? AUDIENCE)
    if (options.iat !== null) jwt.setIssuedAt(options.iat ?? now())
    if (options.sub !== null) jwt.setSubject(options.sub ?? 'billing-service')
    if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now() + 300)
    if (options.nbf) jwt.setNotBefore(options.nbf)
    return jwt.sign(options.key ?? key)
  }
  const get = async (token: string | Promise<string>) => t.raw('/v1/users?limit=1', { headers: bearer(await token) })

  it('accepts scopes from `scope` (a string) and from `scp` (an array)', async () => {
    expect((await get(sign({ scope: 'users:read users:write' }))).status).toBe(200)
    expect((await get(sign({ scp: ['users:read'] }))).status).toBe(200)
  })

  it('names the JWT subject as the caller', async () => {
    t.logger.lines.length = 0
    await get(sign({ scope: 'users:read' }))
    expect(t.logger.lines.at(-1)?.object).toMatchObject({ caller: 'jwt:billing-service' })
  })

  it('answers 403 naming the scope when the token lacks it', async () => {
    const problem = await expectProblem(await get(sign({ scope: 'users:write' })), 403, 'forbidden')
    expect(problem.detail).toContain('users:read')
  })

  it.each([
    ['expired', () => sign({ scope: 'users:read' }, { exp: now() - 60 }), 'expired'],
    ['not yet valid', () => sign({ scope: 'users:read' }, { nbf: now() + 600 }), 'nbf'],
    ['from another issuer', () => sign({ scope: 'users:read' }, { iss: 'https://evil.example.com/' }), 'iss'],
    ['for another audience', () => sign({ scope: 'users:read' }, { aud: 'someone-else' }), 'aud'],
    [
      'signed with another key',
      () => sign({ scope: 'users:read' }, { key: new TextEncoder().encode('x'.repeat(40)) }),
      'signature',
    ],
    ['signed with an algorithm that is not pinned', () => sign({ scope: 'users:read' }, { alg: 'HS512' }), 'algorithm'],
  ])('refuses a token %s with 401 invalid_token', async (_, make, word) => {
    const res = await get(make())
    const problem = await expectProblem(res, 401, 'unauthorized')
    expect(problem.detail.toLowerCase()).toContain(word)
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"')
  })

  it('refuses a token without exp: it would never expire', async () => {
    const problem = await expectProblem(await get(sign({ scope: 'users:read' }, { exp: null })), 401, 'unauthorized')
    expect(problem.detail).toContain('exp')
  })

  describe('lifetime (AUTH_JWT_MAX_AGE_SECONDS, a day by default)', () => {
    const DAY = 86_400
    it.each([
      ['issued for two days', { iat: now(), exp: now() + 2 * DAY }, 'iat'],
      ['issued long ago to expire tomorrow', { iat: now() - 3 * DAY, exp: now() + DAY / 2 }, 'iat'],
      ['without iat, expiring in two days', { iat: null, exp: now() + 2 * DAY }, 'now'],
      ['with iat in the future to look short-lived', { iat: now() + 30 * DAY, exp: now() + 30 * DAY + 60 }, 'now'],
    ])('refuses a token %s with 401 invalid_token', async (_, times, word) => {
      const res = await get(sign({ scope: 'users:read' }, times))
      const problem = await expectProblem(res, 401, 'unauthorized')
      expect(problem.detail).toContain(`more than ${DAY} s after`)
      expect(problem.detail).toContain(word)
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"')
    })

    it('refuses a token issued in the future, beyond the clock tolerance', async () => {
      const res = await get(sign({ scope: 'users:read' }, { iat: now() + 3600, exp: now() + 7200 }))
      expect((await expectProblem(res, 401, 'unauthorized')).detail).toBe("The token's iat is in the future.")
      // Within the tolerance, a clock a little ahead is fine.
      expect((await get(sign({ scope: 'users:read' }, { iat: now() + 3, exp: now() + 3600 }))).status).toBe(200)
    })

    it('refuses an absurd exp (1e308)', async () => {
      const token = sign({ scope: 'users:read', exp: 1e308 }, { exp: null })
      const problem = await expectProblem(await get(token), 401, 'unauthorized')
      expect(problem.detail).toContain('exp')
    })

    it('accepts a token living exactly the limit, with or without iat', async () => {
      expect((await get(sign({ scope: 'users:read' }, { iat: now(), exp: now() + DAY }))).status).toBe(200)
      expect((await get(sign({ scope: 'users:read' }, { iat: null, exp: now() + DAY }))).status).toBe(200)
    })

    it('follows a configured limit', async () => {
      const strict = await useTestApp({
        name: 'auth_max_age',
        deps: {
          authenticator: createAuthenticator({
            apiKeys: [],
            jwt: {
              secret: SECRET,
              jwksUrl: undefined,
              issuer: ISSUER,
              audience: AUDIENCE,
              algorithms: ['HS256'],
              maxAgeSeconds: 600,
            },
          }),
        },
      })
      const call = async (token: Promise<string>) => strict.raw('/v1/users?limit=1', { headers: bearer(await token) })
      expect((await call(sign({ scope: 'users:read' }, { exp: now() + 300 }))).status).toBe(200)
      await expectProblem(await call(sign({ scope: 'users:read' }, { exp: now() + 900 })), 401, 'unauthorized')
    })
  })

  describe('typ header (RFC 8725 explicit typing)', () => {
    it.each(['JWT', 'jwt', 'at+jwt', 'AT+JWT', 'application/at+jwt'])('accepts typ %p', async (typ) => {
      expect((await get(sign({ scope: 'users:read' }, { typ }))).status).toBe(200)
    })

    it.each(['logout+jwt', 'dpop+jwt', 'secevent+jwt', 'JOSE', ''])('refuses typ %p with 401 invalid_token', async (typ) => {
      const problem = await expectProblem(await get(sign({ scope: 'users:read' }, { typ })), 401, 'unauthorized')
      expect(problem.detail).toContain('typ')
    })
  })

  it('refuses a token that names no subject, and keeps long subjects apart', async () => {
    await expectProblem(await get(sign({ scope: 'users:read' }, { sub: null })), 401, 'unauthorized')
    const long = (tail: string) => sign({ scope: 'users:read' }, { sub: `${'s'.repeat(200)}${tail}` })
    t.logger.lines.length = 0
    await get(long('a'))
    await get(long('b'))
    const names = t.logger.lines.map((line) => (line.object as { caller: string }).caller)
    expect(names).toHaveLength(2)
    expect(names[0]).not.toBe(names[1])
    expect(names[0]).toStartWith('jwt:sha256:')
  })

  it('refuses alg: none', async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const token = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ iss: ISSUER, aud: AUDIENCE, sub: 'x', scope: 'users:read', exp: now() + 300 })}.`
    await expectProblem(await get(token), 401, 'unauthorized')
  })
})

describe('JWT bearer tokens (JWKS, asymmetric)', async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
  const app = await useTestApp({
    name: 'auth_jwks',
    deps: {
      authenticator: createAuthenticator(
        {
          apiKeys: [],
          jwt: {
            secret: undefined,
            jwksUrl: 'https://idp.example.com/jwks',
            issuer: ISSUER,
            audience: AUDIENCE,
            algorithms: ['RS256'],
          },
        },
        { jwks: createLocalJWKSet({ keys: [jwk] }) },
      ),
    },
  })
  const get = (token: string) => app.raw('/v1/users?limit=1', { headers: bearer(token) })
  /** A token from this issuer for this audience, signed with `alg` and `key`. */
  const signed = (alg: string, key: CryptoKey | Uint8Array) =>
    new SignJWT({ scope: 'users:read' })
      .setProtectedHeader({ alg, kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('svc')
      .setExpirationTime('5m')
      .sign(key)

  it('accepts a token signed by a key in the set', async () => {
    const token = await signed('RS256', privateKey)
    expect((await get(token)).status).toBe(200)
  })

  it("answers 503, not 401, when the issuer's key set cannot be fetched", async () => {
    const down = await useTestApp({
      name: 'auth_jwks_down',
      deps: {
        authenticator: createAuthenticator({
          apiKeys: [],
          // Nothing listens on port 1.
          jwt: {
            secret: undefined,
            jwksUrl: 'http://127.0.0.1:1/jwks',
            issuer: ISSUER,
            audience: AUDIENCE,
            algorithms: ['RS256'],
          },
        }),
      },
    })
    const token = await signed('RS256', privateKey)
    const res = await down.raw('/v1/users?limit=1', { headers: bearer(token) })
    await expectProblem(res, 503, 'service_unavailable')
    expect(res.headers.get('retry-after')).toBe('5')
  })

  it('refuses an HMAC token made with the public key as secret (algorithm confusion)', async () => {
    const publicAsSecret = new TextEncoder().encode(JSON.stringify(jwk))
    const token = await signed('HS256', publicAsSecret)
    await expectProblem(await get(token), 401, 'unauthorized')
  })
})
