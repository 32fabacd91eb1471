import { describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { createAuthenticator } from '../src/auth/authenticate'
import type { Problem } from '../src/client'
import type { Config } from '../src/config'
import { newUser, useTestApp } from './helpers/context'
import { pointers } from './helpers/problem'
import { corpus, type HostileCase } from './hostile/corpus'

/**
 * The hostile-input corpus (tests/hostile/corpus.ts) through the in-process app: each request gets
 * its 4xx problem, stores nothing, and the app answers the next request. tests/hostile.raw.test.ts
 * sends what a Request object cannot carry over a raw socket to a real server.
 */
function apiKey(name: string, scopes: Config['auth']['apiKeys'][number]['scopes']) {
  const key = `usk_${randomBytes(24).toString('base64url')}`
  return { key, entry: { name, sha256: createHash('sha256').update(key).digest('hex'), scopes } }
}
const writer = apiKey('writer', ['users:read', 'users:write'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])

const t = await useTestApp({
  name: 'hostile',
  deps: { authenticator: createAuthenticator({ apiKeys: [writer.entry, admin.entry], jwt: undefined }) },
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
  const headers: Record<string, string> = as(writer, c.headers)
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
