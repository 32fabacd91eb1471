import { describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import { LEGACY_DEPRECATION } from '../src/legacy'
import { createMetrics } from '../src/observability/metrics'
import { useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

/** Review of issue 8: the answers the compatibility routes give outside their handlers. */

const key = `usk_${randomBytes(24).toString('base64url')}`
const writer = {
  name: 'old-client',
  sha256: createHash('sha256').update(key).digest('hex'),
  scopes: ['users:read', 'users:write'] as const,
}

const on = await useTestApp({
  name: 'legacy_edges_on',
  deps: {
    config: testConfig({ legacyRoutes: true, bodyLimitBytes: 1024 }),
    metrics: createMetrics(),
    authenticator: createAuthenticator({ apiKeys: [{ ...writer, scopes: [...writer.scopes] }], jwt: undefined }),
  },
})
const off = await useTestApp({ name: 'legacy_edges_off', deps: { metrics: createMetrics() } })

describe('compatibility routes while off', () => {
  it('answer 404 not_found to every method, never a 405 that reveals them', async () => {
    for (const [method, path] of [
      ['GET', '/create'],
      ['OPTIONS', '/create'],
      ['POST', '/read'],
      ['PATCH', '/update/alice'],
      ['GET', '/update/alice'],
      ['DELETE', '/read/alice'],
      ['PUT', '/delete/alice'],
    ] as const) {
      const res = await off.raw(path, { method })
      expect(`${method} ${path}: ${res.status}`).toBe(`${method} ${path}: 404`)
      await expectProblem(res, 404, 'not_found')
      expect(res.headers.get('allow')).toBeNull()
    }
  })

  it('are still counted in http_requests_total under their route, as the README says for stragglers', async () => {
    await expectProblem(await off.raw('/read/straggler'), 404, 'not_found')
    const text = await (await off.raw('/metrics')).text()
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/read\/\{username\}",status="404"\} 1\b/)
    expect(text).not.toContain('legacy_requests_total{')
  })
})

describe('compatibility routes while on', () => {
  it('carry Deprecation and Link on a 413 too, and count it', async () => {
    const res = await on.raw('/create', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'big', email: 'big@example.com', password: 'x'.repeat(4096) }),
    })
    await expectProblem(res, 413, 'payload_too_large')
    expect(res.headers.get('deprecation')).toBe(LEGACY_DEPRECATION)
    expect(res.headers.get('link')).toBe('</v1/users>; rel="successor-version"')
    expect(await (await on.raw('/metrics')).text()).toContain('legacy_requests_total{route="/create",caller="old-client"} 1')
    expect(await on.collection.countDocuments()).toBe(0)
  })

  it('still answer 405 for a wrong method (with the deprecation headers) once authenticated', async () => {
    const res = await on.raw('/create', { headers: { authorization: `Bearer ${key}` } })
    await expectProblem(res, 405, 'method_not_allowed')
    expect(res.headers.get('allow')).toBe('POST')
    expect(res.headers.get('deprecation')).toBe(LEGACY_DEPRECATION)
  })

  it("link a user's route to its /v1 successor whatever the answer: 405 on any method, 413", async () => {
    const link = '</v1/users/by-username/bob>; rel="successor-version"'
    for (const method of ['GET', 'DELETE', 'POST', 'PATCH']) {
      const res = await on.raw('/update/bob', {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        ...(method === 'POST' || method === 'PATCH' ? { body: '{}' } : {}),
      })
      await expectProblem(res, 405, 'method_not_allowed')
      expect([method, res.headers.get('link')]).toEqual([method, link])
    }
    const big = await on.raw('/update/bob', {
      method: 'PUT',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bob@example.com', password: 'x'.repeat(4096) }),
    })
    await expectProblem(big, 413, 'payload_too_large')
    expect(big.headers.get('link')).toBe(link)
  })
})
