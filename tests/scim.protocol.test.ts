import { describe, expect, it } from 'bun:test'
import { SignJWT } from 'jose'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import { newUser, useTestApp } from './helpers/context'
import { apiKey, CORE_USER, expectScimError, scimClient, scimUser } from './helpers/scim'

/**
 * /scim/v2 as a protocol (RFC 7644): who may call it, its media type, the discovery endpoints,
 * and its error format for everything the app answers on the way (405, 404, 413, 415, bad JSON).
 * The Users resource itself: scim.users.test.ts.
 */
const scim = apiKey('identity-provider', ['scim'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])
const SECRET = 'an-hs256-secret-of-at-least-32-characters!'
const t = await useTestApp({
  name: 'scim_protocol',
  deps: {
    config: testConfig({ legacyRoutes: true, bodyLimitBytes: 64 * 1024 }),
    authenticator: createAuthenticator({
      apiKeys: [scim.entry, admin.entry],
      jwt: {
        secret: SECRET,
        jwksUrl: undefined,
        issuer: 'https://idp.example.com/',
        audience: 'users-service',
        algorithms: ['HS256'],
      },
    }),
  },
})
const api = scimClient(t.raw, scim.key)

describe('authentication on /scim/v2', () => {
  it('refuses a request without a token with a SCIM 401 and a Bearer challenge', async () => {
    const res = await t.raw('/scim/v2/Users')
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="users-service"')
    await expectScimError(res, 401)
  })

  it('refuses an unknown token with a SCIM 401 (invalid_token), before reading any body', async () => {
    const res = await t.raw('/scim/v2/Users', {
      method: 'POST',
      headers: { authorization: 'Bearer usk_nope', 'content-type': 'application/scim+json' },
      body: 'x'.repeat(200_000),
    })
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"')
    await expectScimError(res, 401)
  })

  it('refuses a key without the scope scim (even users:admin) with a SCIM 403 naming the scope', async () => {
    const res = await t.raw('/scim/v2/Users', { headers: { authorization: `Bearer ${admin.key}` } })
    expect(res.headers.get('www-authenticate')).toContain('scope="scim"')
    const error = await expectScimError(res, 403)
    expect(error.detail).toContain("'scim'")
  })

  it.each([
    ['GET', '/v1/users'],
    ['POST', '/v1/users'],
    ['POST', '/v1/auth/verify'],
    ['GET', '/read'],
  ])('a key with scim only is refused on %s %s (403 problem)', async (method, path) => {
    const res = await t.raw(path, {
      method,
      headers: { authorization: `Bearer ${scim.key}`, 'content-type': 'application/json' },
      ...(method === 'POST' ? { body: JSON.stringify(newUser()) } : {}),
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })

  it('accepts a JWT holding the scope scim', async () => {
    const token = await new SignJWT({ scope: 'scim' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://idp.example.com/')
      .setAudience('users-service')
      .setSubject('entra-provisioning')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET))
    const res = await t.raw('/scim/v2/ServiceProviderConfig', { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
  })
})

describe('the SCIM media type', () => {
  it('answers application/scim+json, and takes application/json bodies too (with a charset)', async () => {
    const res = await api.post('/Users', scimUser(), { 'content-type': 'application/json; charset=utf-8' })
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toBe('application/scim+json')
  })

  it.each([
    ['text/plain', 'text/plain'],
    ['application/merge-patch+json', 'application/merge-patch+json'],
    ['no content type', undefined],
  ])('refuses a body sent as %s with a SCIM 415, storing nothing', async (_, contentType) => {
    const body = scimUser()
    const res = await t.raw('/scim/v2/Users', {
      method: 'POST',
      headers: { authorization: `Bearer ${scim.key}`, ...(contentType ? { 'content-type': contentType } : {}) },
      body: JSON.stringify(body),
    })
    await expectScimError(res, 415)
    expect(await t.collection.findOne({ usernameKey: body.userName })).toBeNull()
  })

  it('refuses malformed JSON with a SCIM 400 invalidSyntax', async () => {
    await expectScimError(await api.post('/Users', '{"userName": '), 400, 'invalidSyntax')
  })

  it('refuses a body that is not an object with a SCIM 400 invalidSyntax', async () => {
    await expectScimError(await api.post('/Users', '[1,2]'), 400, 'invalidSyntax')
  })

  it('refuses invalid UTF-8 with a SCIM 400 invalidSyntax', async () => {
    const res = await t.raw('/scim/v2/Users', {
      method: 'POST',
      headers: { authorization: `Bearer ${scim.key}`, 'content-type': 'application/scim+json' },
      body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    })
    await expectScimError(res, 400, 'invalidSyntax')
  })

  it('refuses a body over the limit with a SCIM 413, by Content-Length and while streaming', async () => {
    const big = JSON.stringify(scimUser({ displayName: 'x'.repeat(100 * 1024) }))
    await expectScimError(await api.post('/Users', big), 413)
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      },
    })
    const res = await t.raw('/scim/v2/Users', {
      method: 'POST',
      headers: { authorization: `Bearer ${scim.key}`, 'content-type': 'application/scim+json' },
      body: streamed,
      duplex: 'half',
    } as RequestInit)
    await expectScimError(res, 413)
  })
})

describe('discovery', () => {
  it('GET /ServiceProviderConfig: PATCH, filters (100 at most), ETags; no bulk, no sorting; bearer tokens', async () => {
    const res = await api.get('/ServiceProviderConfig')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 100 },
      sort: { supported: false },
      etag: { supported: true },
      authenticationSchemes: [{ type: 'oauthbearertoken', primary: true }],
    })
  })

  it('GET /ResourceTypes lists User; GET /ResourceTypes/User is it; another id is a SCIM 404', async () => {
    const list = (await (await api.get('/ResourceTypes')).json()) as { totalResults: number; Resources: object[] }
    expect(list).toMatchObject({ totalResults: 1, Resources: [{ id: 'User', endpoint: '/Users', schema: CORE_USER }] })
    expect(await (await api.get('/ResourceTypes/User')).json()).toEqual(list.Resources[0]!)
    await expectScimError(await api.get(`/ResourceTypes/${crypto.randomUUID()}`), 404)
  })

  it('GET /Schemas lists the User schema with exactly the attributes stored', async () => {
    const list = (await (await api.get('/Schemas')).json()) as {
      Resources: {
        id: string
        attributes: { name: string; required: boolean; mutability: string; subAttributes?: { name: string }[] }[]
      }[]
    }
    expect(list.Resources.map((schema) => schema.id)).toEqual([CORE_USER])
    const [user] = list.Resources
    expect(user!.attributes.map((a) => a.name)).toEqual(['userName', 'name', 'displayName', 'active', 'password', 'emails'])
    const byName = Object.fromEntries(user!.attributes.map((a) => [a.name, a]))
    expect(byName.name!.subAttributes!.map((a) => a.name)).toEqual(['givenName', 'familyName'])
    expect(byName.emails!.subAttributes!.map((a) => a.name)).toEqual(['value', 'type', 'primary'])
    expect(byName.password).toMatchObject({ mutability: 'writeOnly', returned: 'never', required: false })
    expect([byName.userName!.required, byName.emails!.required, byName.active!.required]).toEqual([true, true, true])
    expect(await (await api.get(`/Schemas/${CORE_USER}`)).json()).toEqual(user!)
    await expectScimError(await api.get(`/Schemas/${crypto.randomUUID()}`), 404)
  })

  it.each([
    ['/ServiceProviderConfig', 'GET, HEAD'],
    ['/ResourceTypes', 'GET, HEAD'],
    ['/Schemas', 'GET, HEAD'],
    ['/Users', 'GET, HEAD, POST'],
  ])('other methods on %s are a SCIM 405 with Allow', async (path, allow) => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !allow.includes(m))) {
      const res = await api.send(method, path, {})
      expect(res.headers.get('allow')).toBe(allow)
      await expectScimError(res, 405)
    }
  })

  it('an unknown URL under /scim/v2 is a SCIM 404', async () => {
    await expectScimError(await api.get(`/${crypto.randomUUID()}`), 404)
    await expectScimError(await api.get('/Groups'), 404)
  })

  it('POST /.search and /Users/.search are a SCIM 501: searching with POST is not offered', async () => {
    await expectScimError(await api.post('/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] }), 501)
    await expectScimError(await api.post('/Users/.search', {}), 501)
  })
})

describe('/scim/v2 in the OpenAPI document', () => {
  // POST /Users/.search answers (501) but is left out: beside /Users/{id} it would be a path whose
  // 405 lists that path's methods.
  it('declares every SCIM operation under the tag scim, with its answers in SCIM media type', async () => {
    const document = (await (await t.raw('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { tags: string[]; responses: Record<string, { content?: object }> }>>
    }
    const operations = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/scim/v2/'))
      .flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method, operation })))
    expect(operations.map(({ method, path }) => `${method} ${path}`).sort()).toEqual(
      [
        'delete /scim/v2/Users/{id}',
        'get /scim/v2/ResourceTypes',
        'get /scim/v2/ResourceTypes/{id}',
        'get /scim/v2/Schemas',
        'get /scim/v2/Schemas/{id}',
        'get /scim/v2/ServiceProviderConfig',
        'get /scim/v2/Users',
        'get /scim/v2/Users/{id}',
        'patch /scim/v2/Users/{id}',
        'post /scim/v2/.search',
        'post /scim/v2/Users',
        'put /scim/v2/Users/{id}',
      ].sort(),
    )
    for (const { operation } of operations) {
      expect(operation.tags).toEqual(['scim'])
      for (const response of Object.values(operation.responses)) {
        if (response.content) expect(Object.keys(response.content)).toEqual(['application/scim+json'])
      }
    }
  })
})
