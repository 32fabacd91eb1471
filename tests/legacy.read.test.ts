import { describe, expect, it } from 'bun:test'
import { createAuthenticator } from '../src/auth/authenticate'
import { createRouter } from '../src/http/router'
import { createLegacyGate, createLegacyRoutes } from '../src/legacy'
import { createMetrics } from '../src/observability/metrics'
import { createBunPasswordHasher } from '../src/users/passwords.bun'
import { createUsersService } from '../src/users/users.service'
import { useTestApp } from './helpers/context'

const t = await useTestApp({ name: 'legacy_read' })
// Three pages of the repository's 100, created oldest first.
const COUNT = 230
for (let i = 0; i < COUNT; i++) {
  await t.users.create({ username: `old${i}`, email: `old${i}@example.com`, metadata: {}, role: 'user', status: 'active' })
}

/** The compatibility layer on its own (gate and routes, as app.ts mounts them), with a small cap on GET /read. */
function legacyWithCap(readAllMax?: number) {
  const gate = createLegacyGate({
    enabled: true,
    authenticator: createAuthenticator({ apiKeys: [], jwt: undefined }),
    metrics: createMetrics(),
  })
  const routes = createLegacyRoutes({
    users: createUsersService({ users: t.users, passwords: createBunPasswordHasher() }),
    ...(readAllMax !== undefined ? { readAllMax } : {}),
  })
  return createRouter().route('/', gate).route('/', routes)
}

type LegacyUser = { username: string }

describe('GET /read', () => {
  it('returns every user across repository pages, oldest first, like the seed', async () => {
    const res = await legacyWithCap().request('/read')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-legacy-truncated')).toBeNull()
    const users = (await res.json()) as LegacyUser[]
    expect(users.map((u) => u.username)).toEqual(Array.from({ length: COUNT }, (_, i) => `old${i}`))
  }, 60_000)

  it('stops at the cap and says so', async () => {
    for (const cap of [150, 200]) {
      const res = await legacyWithCap(cap).request('/read')
      expect(res.status).toBe(200)
      expect(res.headers.get('x-legacy-truncated')).toBe('true')
      const users = (await res.json()) as LegacyUser[]
      expect(users.map((u) => u.username)).toEqual(Array.from({ length: cap }, (_, i) => `old${i}`))
    }
    const exact = await legacyWithCap(COUNT).request('/read')
    expect(exact.headers.get('x-legacy-truncated')).toBeNull()
    expect(((await exact.json()) as LegacyUser[]).length).toBe(COUNT)
  }, 60_000)
})
