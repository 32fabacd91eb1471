import { describe, expect, it } from 'bun:test'
import { createAuthenticator } from '../src/auth/authenticate'
import type { Problem } from '../src/client'
import { testConfig } from '../src/config'
import { newUser, useTestApp } from './helpers/context'
import { apiKey } from './helpers/keys'
import { pointers } from './helpers/problem'
import { corpus, type HostileCase } from './hostile/corpus'

/**
 * The hostile-input corpus (tests/hostile/corpus.ts) through the in-process app: each request gets
 * its 4xx problem, stores nothing, and the app answers the next request. tests/hostile.raw.test.ts
 * sends what a Request object cannot carry over a raw socket to a real server.
 */
const writer = apiKey('writer', ['users:read', 'users:write'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])

const t = await useTestApp({
  name: 'hostile',
  deps: {
    // The compatibility routes on, so the corpus reaches them too.
    config: testConfig({ legacyRoutes: true }),
    authenticator: createAuthenticator({ apiKeys: [writer.entry, admin.entry], jwt: undefined }),
  },
})

const as = (key: { key: string }, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${key.key}`, ...headers })

/** The existing user every `{id}` names, made by the admin. */
const victim = await (async () => {
  const res = await t.raw('/v1/users', {
    method: 'POST',
    headers: as(admin, { 'content-type': 'application/json' }),
    body: JSON.stringify(newUser({ username: 'victim', metadata: { plan: 'pro' }, password: 'correct horse battery' })),
  })
  if (res.status !== 201) throw new Error(`seed failed: ${res.status}`)
  return (await res.json()) as { id: string }
})()

/** Everything stored, in a stable order: compared before and after each case. */
const snapshot = () => t.collection.find({}, { sort: { _id: 1 } }).toArray()

function send(c: HostileCase) {
  const headers: Record<string, string> = as(c.caller === 'admin' ? admin : writer, c.headers)
  if (c.body !== undefined && c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json'
  const body = typeof c.body === 'function' ? c.body() : c.body
  return t.raw(c.path.replaceAll('{id}', victim.id), {
    method: c.method,
    headers,
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit)
}

describe('hostile-input corpus', () => {
  it('has at least 50 cases, with unique names', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(50)
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length)
  })

  it.each(corpus.map((c) => [c.name, c] as const))('%s: refused, nothing stored, still answering', async (_, c) => {
    const before = await snapshot()
    const res = await send(c)
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({
      status: c.status,
      type: 'application/problem+json',
    })
    const problem = (await res.json()) as Problem
    // Some cases accept either of two codes: which layer refuses (parser or schema) is not the point.
    expect([c.code].flat()).toContain(problem.code)
    expect(problem.status).toBe(c.status)
    if (c.pointer) expect(pointers(problem)[0]).toStartWith(c.pointer)
    expect(await snapshot()).toEqual(before)
    expect((await t.raw('/healthz')).status).toBe(200)
    expect((await t.raw(`/v1/users/${victim.id}`, { headers: as(writer) })).status).toBe(200)
  })

  it('polluted no prototype along the way', () => {
    const probe = {} as Record<string, unknown>
    expect(probe.role).toBeUndefined()
    expect(probe.polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })
})

/**
 * Hostile-looking inputs that are valid, and what the service does with them (so the behaviour is
 * decided, not accidental).
 */
describe('hostile-looking but valid input', () => {
  const post = (body: string, key = writer) =>
    t.raw('/v1/users', { method: 'POST', headers: as(key, { 'content-type': 'application/json' }), body })
  const body = (extra: string) => `${JSON.stringify(newUser()).slice(0, -1)},${extra}}`

  it('duplicate keys: the last one wins, and it is what is validated, authorized and stored', async () => {
    // {"role":"admin","role":"user"} from a non-admin is a plain user: the parsed object is what
    // every check sees, so no duplicate can smuggle a value past them (the corpus has the reverse).
    const res = await post(body('"role":"admin","role":"user","metadata":{"a":1,"a":2}'))
    expect(res.status).toBe(201)
    const user = (await res.json()) as { id: string; role: string; metadata: object }
    expect(user.role).toBe('user')
    expect(user.metadata).toEqual({ a: 2 })
    expect(await t.collection.findOne({ username: { $exists: true }, role: 'admin' })).toBeNull()
  })

  it('NUL inside a password is significant: no truncation at the first NUL', async () => {
    const user = newUser({ password: 'correct horse\u0000A' })
    expect((await post(JSON.stringify(user))).status).toBe(201)
    const verify = (password: string) =>
      t.raw('/v1/auth/verify', {
        method: 'POST',
        headers: as(writer, { 'content-type': 'application/json' }),
        body: JSON.stringify({ login: user.username, password }),
      })
    expect((await verify('correct horse\u0000A')).status).toBe(200)
    expect((await verify('correct horse\u0000B')).status).toBe(401)
    expect((await verify('correct horse')).status).toBe(401)
  }, 30_000) // four argon2id hashes, on a shared machine

  it('NUL inside a metadata string is data, stored and returned exactly', async () => {
    const res = await post(body('"metadata":{"note":"a\\u0000b"}'))
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: string }
    const read = await t.raw(`/v1/users/${id}`, { headers: as(writer) })
    expect(((await read.json()) as { metadata: object }).metadata).toEqual({ note: 'a\u0000b' })
  })

  it('2^64 in metadata is a JSON number, kept as the nearest double (RFC 8259 interoperability)', async () => {
    const res = await post(body('"metadata":{"n":18446744073709551616}'))
    expect(res.status).toBe(201)
    expect(((await res.json()) as { metadata: { n: number } }).metadata.n).toBe(2 ** 64)
  })
})

describe('X-Request-Id: what is echoed', () => {
  it.each([
    ['a 129-character id', 'a'.repeat(129)],
    ['spaces', 'has spaces'],
    ['HTML', '<script>alert(1)</script>'],
    ['quotes', '"quoted"'],
    ['a header-like value', 'a;b=c, Set-Cookie: pwn=1'],
    ['path traversal', '../../etc/passwd'],
    ['a Latin-1 character', 'caf\u00e9'],
    ['percent-encoded CRLF', 'a%0d%0aSet-Cookie:%20pwn=1'],
  ])('replaces %s with a generated id, in the header and the problem body', async (_, offered) => {
    const res = await t.raw('/v1/users/not-an-id', { headers: as(writer, { 'x-request-id': offered }) })
    const echoed = res.headers.get('x-request-id') ?? ''
    expect(echoed).toMatch(/^[0-9a-f-]{36}$/)
    const problem = (await res.json()) as Problem
    expect(problem.requestId).toBe(echoed)
    expect(JSON.stringify(problem)).not.toContain(offered)
  })

  it('echoes an acceptable id unchanged', async () => {
    const res = await t.raw('/healthz', { headers: { 'x-request-id': 'trace-Ab.9_z' } })
    expect(res.headers.get('x-request-id')).toBe('trace-Ab.9_z')
  })
})
