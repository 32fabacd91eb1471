import { describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import type { PasswordHasher } from '../src/users/passwords'
import { useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

/**
 * Issue 13, findings 2 and 3: brute-force limits that are no lockout button. A request refused by
 * a limit changes no counter; with the end user's address (`ip`), a login is counted per address
 * and an address across logins, and a shared front-end key is not itself limited.
 */

// A controllable clock, so windows can pass without waiting.
let now = Date.parse('2026-11-25T12:00:00.000Z')
const clock = () => new Date(now)
const limits = { perLogin: 5, perIp: 8, perClient: 6, windowSeconds: 600 }
const config = testConfig()
config.auth = { ...config.auth, failures: { ...config.auth.failures, ...limits } }

// Real argon2id with small parameters: these tests make hundreds of checks and are about counting,
// not about the cost of one. (An unknown login still costs the service's full dummy verify.)
const passwords: PasswordHasher = {
  hash: (password) => Bun.password.hash(password, { algorithm: 'argon2id', memoryCost: 256, timeCost: 1 }),
  verify: (password, hash) => Bun.password.verify(password, hash, 'argon2id'),
}

function apiKey(name: string) {
  const key = `usk_${randomBytes(16).toString('hex')}`
  return { key, entry: { name, sha256: createHash('sha256').update(key).digest('hex'), scopes: ['users:read' as const] } }
}

// Users are made through an app with auth off; the attacks go through one with keys, on the same database.
const open = await useTestApp({ name: 'verify_lockout', clock, deps: { config, passwords } })

/** An app of its own (fresh client counters) with a guessing key and a front end's key. */
async function keyedApp() {
  const guesser = apiKey('guesser')
  const frontend = apiKey('frontend')
  const app = await useTestApp({
    name: 'verify_lockout_keys',
    clock,
    sameDatabaseAs: open,
    deps: {
      config,
      passwords,
      authenticator: createAuthenticator({ apiKeys: [guesser.entry, frontend.entry], jwt: undefined }),
    },
  })
  const verifyAs = (key: { key: string }) => (body: { login: string; password: string; ip?: string }) =>
    app.raw('/v1/auth/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
      body: JSON.stringify(body),
    })
  return { app, guesser: verifyAs(guesser), frontend: verifyAs(frontend) }
}

async function victims(count: number) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const password = `pw-${randomBytes(6).toString('hex')}`
      const user = await open.createUser({ password })
      return { login: user.username, email: user.email, password }
    }),
  )
}

let addresses = 0
/** A fresh IPv4 address for every call (documentation and private ranges). */
const freshIp = () => {
  const n = ++addresses + Math.floor(Math.random() * 1000) * 4096
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
}

function statusCounts(responses: Response[]) {
  const counts: Record<number, number> = {}
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1
  return counts
}

describe('POST /v1/auth/verify without ip (per login, per client)', () => {
  it('does not count requests refused for their client against the logins they name (finding 2)', async () => {
    const { guesser, frontend } = await keyedApp()
    const targets = await victims(10)
    // The guesser spends its own limit on logins that name nobody...
    for (let i = 0; i < limits.perClient; i++)
      await expectProblem(await guesser({ login: `nobody-${i}-${Date.now()}`, password: 'guess' }), 401, 'invalid_credentials')
    // ...then names each of 10 users 6 times (60 requests): every one is refused for the client.
    for (const target of targets)
      for (let i = 0; i <= limits.perLogin; i++)
        await expectProblem(await guesser({ login: target.login, password: `guess-${i}` }), 429, 'rate_limited')
    // Another client, with the right password, gets every user.
    for (const target of targets) expect((await frontend({ login: target.login, password: target.password })).status).toBe(200)
  }, 60_000)

  it('refuses a client past its limit, the right password included: the risk of one shared key (documented)', async () => {
    const { frontend } = await keyedApp()
    const [target] = await victims(1)
    const others = await victims(2)
    for (let i = 0; i < limits.perClient; i++)
      await expectProblem(await frontend({ login: others[i % 2]!.login, password: `wrong-${i}` }), 401, 'invalid_credentials')
    const refused = await frontend({ login: target!.login, password: target!.password })
    const problem = await expectProblem(refused, 429, 'rate_limited')
    expect(problem.detail).toContain('client')
    // A right password does not count: the client's attempt is given back, its count stays at the limit.
  })

  it('keeps a login refused after its own limit, whatever the client (today, as before)', async () => {
    const { guesser, frontend } = await keyedApp()
    const [target] = await victims(1)
    for (let i = 0; i < limits.perLogin; i++)
      await expectProblem(await guesser({ login: target!.email, password: `wrong-${i}` }), 401, 'invalid_credentials')
    const problem = await expectProblem(await frontend({ login: target!.login, password: target!.password }), 429, 'rate_limited')
    expect(problem.detail).toContain('login')
  })
})

describe('POST /v1/auth/verify with ip (per login and address, per address)', () => {
  it('does not let ~100 bad attempts through one shared key from many addresses refuse a right password from a fresh one (finding 3)', async () => {
    const { frontend } = await keyedApp()
    const targets = await victims(10)
    // 100 wrong passwords through the front end's one key, from 100 addresses: each one a 401.
    const attempts = Array.from({ length: 100 }, (_, i) => ({
      login: targets[i % targets.length]!.login,
      password: `wrong-${i}`,
      ip: freshIp(),
    }))
    for (const attempt of attempts) await expectProblem(await frontend(attempt), 401, 'invalid_credentials')
    // Every user still signs in through the same key from an address that guessed nothing.
    for (const target of targets)
      expect((await frontend({ login: target.login, password: target.password, ip: freshIp() })).status).toBe(200)
  }, 60_000)

  it('refuses a login from one address past the limit, and not the right password from another', async () => {
    const { frontend } = await keyedApp()
    const [target] = await victims(1)
    const attacker = freshIp()
    for (let i = 0; i < limits.perLogin; i++)
      await expectProblem(
        await frontend({ login: target!.login, password: `wrong-${i}`, ip: attacker }),
        401,
        'invalid_credentials',
      )
    const refused = await frontend({ login: target!.email, password: target!.password, ip: attacker })
    const problem = await expectProblem(refused, 429, 'rate_limited')
    expect(problem.detail).toContain('login')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await frontend({ login: target!.login, password: target!.password, ip: freshIp() })).status).toBe(200)
    // And no IP at all counts apart from both: the login's own counter is untouched.
    expect((await frontend({ login: target!.login, password: target!.password })).status).toBe(200)
  })

  it('refuses one address across logins past the per-address limit, and no other address', async () => {
    const { frontend } = await keyedApp()
    const targets = await victims(limits.perIp + 1)
    const attacker = freshIp()
    for (let i = 0; i < limits.perIp; i++)
      await expectProblem(
        await frontend({ login: targets[i]!.login, password: 'wrong', ip: attacker }),
        401,
        'invalid_credentials',
      )
    const last = targets[limits.perIp]!
    const problem = await expectProblem(
      await frontend({ login: last.login, password: last.password, ip: attacker }),
      429,
      'rate_limited',
    )
    expect(problem.detail).toContain('address')
    expect((await frontend({ login: last.login, password: last.password, ip: freshIp() })).status).toBe(200)
  })

  it('does not count a request refused for its address against the login it names', async () => {
    const { frontend } = await keyedApp()
    const targets = await victims(2)
    const attacker = freshIp()
    for (let i = 0; i < limits.perIp; i++)
      await frontend({ login: targets[0]!.login, password: `wrong-${i}`, ip: i < limits.perLogin ? attacker : freshIp() })
    for (let i = limits.perLogin; i < limits.perIp; i++)
      await frontend({ login: targets[1]!.login, password: `wrong-${i}`, ip: attacker })
    // The address is at its limit now; the logins it names next are not charged.
    const victim = targets[1]!
    for (let i = 0; i < 10; i++)
      await expectProblem(await frontend({ login: victim.login, password: 'x', ip: attacker }), 429, 'rate_limited')
    now += (limits.windowSeconds + 1) * 1000
    // A new window: the address gets its attempts back, and the login has not been charged for the 10.
    for (let i = 0; i < limits.perLogin - 1; i++)
      await expectProblem(
        await frontend({ login: victim.login, password: `wrong-${i}`, ip: attacker }),
        401,
        'invalid_credentials',
      )
    expect((await frontend({ login: victim.login, password: victim.password, ip: attacker })).status).toBe(200)
  })

  it('gives 20 parallel guesses of one login from one address at most the per-login limit', async () => {
    const { frontend } = await keyedApp()
    const [target] = await victims(1)
    const ip = freshIp()
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => frontend({ login: target!.login, password: `g${i}`, ip })),
    )
    expect(statusCounts(responses)).toEqual({ 401: limits.perLogin, 429: 20 - limits.perLogin })
  })

  it('gives 20 parallel guesses of 20 logins from one address at most the per-address limit', async () => {
    const { frontend } = await keyedApp()
    const targets = await victims(20)
    const ip = freshIp()
    const responses = await Promise.all(targets.map((target, i) => frontend({ login: target.login, password: `g${i}`, ip })))
    expect(statusCounts(responses)).toEqual({ 401: limits.perIp, 429: 20 - limits.perIp })
  })

  it('counts an IPv4-mapped IPv6 address as the IPv4 address, and one IPv6 /64 as one address', async () => {
    const { frontend } = await keyedApp()
    const [mapped, prefixed] = await victims(2)
    const v4 = freshIp()
    for (let i = 0; i < limits.perLogin; i++) {
      const ip = i % 2 ? v4 : `::ffff:${v4}`
      await expectProblem(await frontend({ login: mapped!.login, password: `wrong-${i}`, ip }), 401, 'invalid_credentials')
    }
    await expectProblem(
      await frontend({ login: mapped!.login, password: mapped!.password, ip: `::FFFF:${v4}` }),
      429,
      'rate_limited',
    )

    const [a, b] = [randomBytes(2).readUInt16BE(), randomBytes(2).readUInt16BE()]
    const prefix = `2001:db8:${a.toString(16)}:${b.toString(16)}`
    for (let i = 0; i < limits.perLogin; i++) {
      const ip = `${prefix}:${randomBytes(2).toString('hex')}::${i + 1}`
      await expectProblem(await frontend({ login: prefixed!.login, password: `wrong-${i}`, ip }), 401, 'invalid_credentials')
    }
    const sameNetwork = `${prefix}::ffff`
    await expectProblem(
      await frontend({ login: prefixed!.login, password: prefixed!.password, ip: sameNetwork }),
      429,
      'rate_limited',
    )
    // The neighbouring /64 is another address.
    const nextNetwork = `2001:db8:${a.toString(16)}:${(b ^ 1).toString(16)}::1`
    expect((await frontend({ login: prefixed!.login, password: prefixed!.password, ip: nextNetwork })).status).toBe(200)
  })

  it.each([
    ['not an address', 'localhost'],
    ['an IPv4 address with a leading zero', '010.0.0.1'],
    ['an address with a port', '203.0.113.7:443'],
    ['an address in brackets', '[2001:db8::1]'],
    ['an IPv6 zone', 'fe80::1%eth0'],
    ['a CIDR range', '10.0.0.0/8'],
    ['surrounding spaces', ' 203.0.113.7'],
    ['a list (X-Forwarded-For)', '203.0.113.7, 10.0.0.1'],
    ['an empty string', ''],
    ['a number', 3405803783],
    ['an operator object', { $ne: '' }],
  ])('answers 400 at /ip for %s', async (_, ip) => {
    const res = await open.raw('/v1/auth/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'someone', password: 'x', ip }),
    })
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(problem.errors?.map((e) => [e.pointer, e.message])).toEqual([['/ip', 'must be an IPv4 or IPv6 address']])
  })

  it('counts 429s by the limit that refused them, in a bounded metric label', async () => {
    const { app, frontend } = await keyedApp()
    const [target] = await victims(1)
    const ip = freshIp()
    for (let i = 0; i <= limits.perLogin; i++) await frontend({ login: target!.login, password: `wrong-${i}`, ip })
    const text = await app.deps.metrics.render()
    expect(text).toMatch(/^auth_verify_rate_limited_total\{limit="login"\} 1$/m)
    expect(text).not.toContain(ip)
    expect(text).not.toContain(target!.login)
  })
})
