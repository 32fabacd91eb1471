import { describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import { createBunPasswordHasher } from '../src/users/passwords.bun'
import { newUser, useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

// A controllable clock, so failure windows can pass without waiting.
let now = Date.parse('2026-11-25T12:00:00.000Z')
const clock = () => new Date(now)
// Every test here shares one client (auth is off), so the client limit is set out of reach except
// in the test about it, which has its own app and caller.
const limits = { perLogin: 3, perClient: 1000, windowSeconds: 600 }
const config = testConfig()
config.auth = { ...config.auth, failures: { ...config.auth.failures, ...limits } }
const strictClient = testConfig()
strictClient.auth = { ...strictClient.auth, failures: { ...strictClient.auth.failures, ...limits, perClient: 6 } }

// Counts verifications, to show an unknown login costs a real argon2id verify too.
const bun = createBunPasswordHasher()
let verifications = 0
const passwords = {
  hash: bun.hash,
  verify: (p: string, h: string) => {
    verifications++
    return bun.verify(p, h)
  },
}

const t = await useTestApp({ name: 'verify', clock, deps: { config, passwords } })

const verify = (login: string, password: string, app = t) =>
  app.raw('/v1/auth/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password }),
  })

async function userWithPassword(overrides: Record<string, unknown> = {}) {
  const password = `pw-${randomBytes(6).toString('hex')}`
  const user = await t.createUser({ password, ...overrides })
  return { user, password }
}

describe('POST /v1/auth/verify', () => {
  it('answers 200 with the user for the right password, by username or email in any case', async () => {
    const { user, password } = await userWithPassword()
    for (const login of [user.username, user.username.toUpperCase(), user.email.toUpperCase()]) {
      const res = await verify(login, password)
      expect(res.status).toBe(200)
      const text = await res.text()
      // The user as it is, with the sign-in's time: same version and updatedAt (not a change).
      expect(JSON.parse(text)).toEqual({ user: { ...user, lastSignInAt: new Date(now).toISOString() } })
      expect(text).not.toContain('argon2')
    }
  })

  it('gives an unknown login and a wrong password the same 401, both costing one argon2id verify', async () => {
    const { user } = await userWithPassword()
    verifications = 0
    const wrong = await expectProblem(await verify(user.username, 'not the password'), 401, 'invalid_credentials')
    const unknown = await expectProblem(await verify(`nobody-${Date.now()}`, 'not the password'), 401, 'invalid_credentials')
    expect(unknown.detail).toBe(wrong.detail)
    expect(unknown.title).toBe(wrong.title)
    expect(verifications).toBe(2)
  })

  it('answers 401 for a user who has no password', async () => {
    const user = await t.createUser()
    await expectProblem(await verify(user.username, 'anything-at-all'), 401, 'invalid_credentials')
  })

  it('answers 403 user_disabled only after the right password', async () => {
    const { user, password } = await userWithPassword({ status: 'disabled' })
    await expectProblem(await verify(user.username, 'wrong password'), 401, 'invalid_credentials')
    await expectProblem(await verify(user.username, password), 403, 'user_disabled')
  })

  it.each([
    ['no login', { password: 'x' }, '/login'],
    ['an empty password', { login: 'alice', password: '' }, '/password'],
    ['an unknown field', { login: 'alice', password: 'x', otp: '123' }, '/otp'],
    ['an operator object', { login: { $ne: '' }, password: 'x' }, '/login'],
  ])('answers 400 for %s', async (_, body, pointer) => {
    const res = await t.raw('/v1/auth/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(problem.errors?.map((e) => e.pointer)).toEqual([pointer])
  })

  describe('failed attempts', () => {
    it('refuses a login with 429 and Retry-After once it reaches the limit, even with the right password', async () => {
      const { user, password } = await userWithPassword()
      for (let i = 0; i < limits.perLogin; i++)
        await expectProblem(await verify(user.username, 'wrong'), 401, 'invalid_credentials')
      const refused = await verify(user.email, password)
      await expectProblem(refused, 429, 'rate_limited')
      const retryAfter = Number(refused.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThan(0)
      expect(retryAfter).toBeLessThanOrEqual(limits.windowSeconds)
    })

    it('counts parallel guesses before checking them: a burst gets no more than the limit', async () => {
      const { user } = await userWithPassword()
      const responses = await Promise.all(Array.from({ length: 12 }, () => verify(user.username, 'wrong guess')))
      const statuses = responses.map((r) => r.status).sort()
      expect(statuses.filter((s) => s === 401)).toHaveLength(limits.perLogin)
      expect(statuses.filter((s) => s === 429)).toHaveLength(12 - limits.perLogin)
    })

    it('lets the login try again once the window has passed', async () => {
      const { user, password } = await userWithPassword()
      for (let i = 0; i < limits.perLogin; i++) await verify(user.username, 'wrong')
      await expectProblem(await verify(user.username, password), 429, 'rate_limited')
      now += (limits.windowSeconds + 1) * 1000
      expect((await verify(user.username, password)).status).toBe(200)
    })

    it("forgets a login's failures after a success", async () => {
      const { user, password } = await userWithPassword()
      for (let i = 0; i < limits.perLogin - 1; i++) await verify(user.username, 'wrong')
      expect((await verify(user.username, password)).status).toBe(200)
      for (let i = 0; i < limits.perLogin - 1; i++) await verify(user.username, 'wrong')
      expect((await verify(user.username, password)).status).toBe(200)
    })

    it('limits one client across many logins', async () => {
      // Its own caller, so the client counter starts at zero.
      const key = `usk_${randomBytes(16).toString('hex')}`
      const guesser = await useTestApp({
        name: 'verify_client',
        clock,
        deps: {
          config: strictClient,
          authenticator: createAuthenticator({
            apiKeys: [{ name: 'guesser', sha256: createHash('sha256').update(key).digest('hex'), scopes: ['users:read'] }],
            jwt: undefined,
          }),
        },
      })
      const attempt = (login: string) =>
        guesser.raw('/v1/auth/verify', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ login, password: 'guess' }),
        })
      for (let i = 0; i < strictClient.auth.failures.perClient; i++)
        await expectProblem(await attempt(`someone-${i}-${Date.now()}`), 401, 'invalid_credentials')
      await expectProblem(await attempt(`fresh-${Date.now()}`), 429, 'rate_limited')
      // Each unknown login costs a dummy argon2 verify (about 90 ms alone, seconds on a busy CI machine).
    }, 30_000)

    it('holds across two instances on one database', async () => {
      const { user, password } = await userWithPassword()
      const other = await useTestApp({ name: 'verify_other', clock, deps: { config }, sameDatabaseAs: t })
      for (let i = 0; i < limits.perLogin; i++) await verify(user.username, 'wrong', other)
      await expectProblem(await verify(user.username, password, t), 429, 'rate_limited')
    })
  })
})

describe('POST /v1/auth/verify with auth on', () => {
  it('needs users:read', async () => {
    const key = `usk_${randomBytes(16).toString('hex')}`
    const app = await useTestApp({
      name: 'verify_scope',
      deps: {
        authenticator: createAuthenticator({
          apiKeys: [{ name: 'writer-only', sha256: createHash('sha256').update(key).digest('hex'), scopes: ['users:write'] }],
          jwt: undefined,
        }),
      },
    })
    const res = await app.raw('/v1/auth/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(newUser()),
    })
    await expectProblem(res, 403, 'forbidden')
  })
})
