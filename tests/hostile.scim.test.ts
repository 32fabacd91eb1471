import { describe, expect, it } from 'bun:test'
import { createAuthenticator } from '../src/auth/authenticate'
import { useTestApp } from './helpers/context'
import { apiKey, CORE_USER, ENTERPRISE_USER, expectScimError, scimClient, scimUser } from './helpers/scim'
import { scimCorpus } from './hostile/corpus.scim'

/**
 * The hostile-input corpus's SCIM part (tests/hostile/corpus.scim.ts) through the in-process app,
 * sent with a key holding the scope `scim` (and so the administrative authority): each request
 * gets its SCIM 4xx Error, stores nothing, and the service answers the next request.
 */
const scim = apiKey('identity-provider', ['scim'])
const t = await useTestApp({
  name: 'hostile_scim',
  deps: { authenticator: createAuthenticator({ apiKeys: [scim.entry], jwt: undefined }) },
})
const api = scimClient(t.raw, scim.key)

/** The existing user every `{id}` names. */
const victim = await (async () => {
  const res = await api.post('/Users', scimUser({ displayName: 'Victim', name: { givenName: 'V' } }))
  if (res.status !== 201) throw new Error(`seed failed: ${res.status}`)
  return (await res.json()) as { id: string }
})()

/** Everything stored, in a stable order: compared before and after each case. */
const snapshot = () => t.collection.find({}, { sort: { _id: 1 } }).toArray()

describe('hostile-input corpus: /scim/v2', () => {
  it('has at least 50 cases, with unique names', () => {
    expect(scimCorpus.length).toBeGreaterThanOrEqual(50)
    expect(new Set(scimCorpus.map((c) => c.name)).size).toBe(scimCorpus.length)
  })

  it.each(scimCorpus.map((c) => [c.name, c] as const))('%s: a SCIM error, nothing stored, still answering', async (_, c) => {
    const before = await snapshot()
    const body = typeof c.body === 'function' ? c.body() : c.body
    const headers: Record<string, string> = { authorization: `Bearer ${scim.key}`, ...c.headers }
    if (body !== undefined && c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/scim+json'
    const res = await t.raw(`/scim/v2${c.path.replaceAll('{id}', victim.id)}`, {
      method: c.method,
      headers,
      body,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit)
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({
      status: c.status,
      type: 'application/scim+json',
    })
    const error = (await res.json()) as { schemas: string[]; status: string; scimType?: string }
    expect(error).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(c.status) })
    // Some cases accept either of two scimTypes: which layer refuses (grammar or translation) is not the point.
    expect(c.scimType === undefined ? [undefined] : [c.scimType].flat()).toContain(error.scimType)
    expect(await snapshot()).toEqual(before)
    expect((await t.raw('/healthz')).status).toBe(200)
    expect((await api.get(`/Users/${victim.id}`)).status).toBe(200)
  })
})

/** Hostile-looking requests that are valid, and what the service does with them (decided, not accidental). */
describe('hostile-looking but valid SCIM input', () => {
  it('roles, userType, groups and the enterprise extension never grant a role', async () => {
    const body = scimUser({
      schemas: [CORE_USER, ENTERPRISE_USER],
      roles: [{ value: 'admin', primary: true }],
      userType: 'admin',
      groups: [{ value: 'administrators' }],
      [ENTERPRISE_USER]: { department: 'admin' },
    })
    const res = await api.post('/Users', body)
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: string }
    expect((await api.patch(`/Users/${id}`, [{ op: 'add', path: 'roles', value: [{ value: 'admin' }] }])).status).toBe(200)
    expect((await t.collection.findOne({ usernameKey: body.userName.toLowerCase() }))?.role).toBe('user')
  })

  it('a filter quoting another term is one value, not a second term: it matches nobody', async () => {
    const res = await api.get(`/Users?filter=${encodeURIComponent('userName eq "a\\" or userName pr or \\""')}`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { totalResults: number }).totalResults).toBe(0)
  })

  it('regular-expression characters in co/sw/ew are literal', async () => {
    const res = await api.get(`/Users?filter=${encodeURIComponent('userName co ".*"')}`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { totalResults: number }).totalResults).toBe(0)
    await expectScimError(await api.get(`/Users?filter=${encodeURIComponent('userName co ".*" or 1')}`), 400, 'invalidFilter')
  })
})
