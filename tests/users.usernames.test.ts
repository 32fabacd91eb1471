import { describe, expect, it } from 'bun:test'
import { testConfig } from '../src/config'
import { newUser, useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

/**
 * Usernames widen (API.md v1.1) to what identity providers send: email addresses and Entra UPNs,
 * `#EXT#` included, up to 254 characters; and a login still names one user: a login with `@`
 * names the user with that email if there is one, else the user with that username.
 */
const config = testConfig({ legacyRoutes: true })
config.auth = { ...config.auth, failures: { ...config.auth.failures, perLogin: 3, perClient: 1000, windowSeconds: 600 } }
const t = await useTestApp({ name: 'usernames', deps: { config } })

const unique = () => crypto.randomUUID().slice(0, 8)
const verify = (login: string, password: string) =>
  t.raw('/v1/auth/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password }),
  })
const signedIn = async (login: string, password: string) => {
  const res = await verify(login, password)
  return res.status === 200 ? ((await res.json()) as { user: { id: string } }).user.id : res.status
}

describe('usernames that identity providers send', () => {
  it('accepts an Entra guest UPN and finds it through the typed client, which encodes the #', async () => {
    const username = `alice_contoso.com#EXT#@fabrikam${unique()}.onmicrosoft.com`
    const user = await t.createUser({ username })
    expect(user.username).toBe(username)
    const res = await t.api.v1.users['by-username'][':username'].$get({ param: { username: username.toUpperCase() } })
    expect(res.status).toBe(200)
    if (res.status === 200) expect((await res.json()).id).toBe(user.id)
  })

  it('finds it raw with %23, and a raw # starts the fragment: the rest never reaches the server', async () => {
    const username = `bob_contoso.com#EXT#@fabrikam${unique()}.onmicrosoft.com`
    const user = await t.createUser({ username })
    const encoded = await t.raw(`/v1/users/by-username/${username.replace('#EXT#', '%23EXT%23')}`)
    expect(encoded.status).toBe(200)
    expect(((await encoded.json()) as { id: string }).id).toBe(user.id)
    await expectProblem(await t.raw(`/v1/users/by-username/${username}`), 404, 'user_not_found')
  })

  it('takes email addresses and every character of their dot-atom form, up to 254 characters', async () => {
    for (const username of [
      `carol.w+tag-${unique()}@example.com`,
      `o'neil!#$&*=^_\`{|}~-${unique()}`,
      `${'a'.repeat(240)}${unique()}@x.io`.slice(-254),
      'x',
    ]) {
      const res = await t.api.v1.users.$post({ json: newUser({ username }) })
      expect(res.status).toBe(201)
      const read = await t.api.v1.users['by-username'][':username'].$get({ param: { username } })
      expect(read.status).toBe(200)
    }
  })

  it('stays unique case-insensitively', async () => {
    const username = `Dave#EXT#@Example${unique()}.com`
    await t.createUser({ username })
    await expectProblem(
      await t.api.v1.users.$post({ json: newUser({ username: username.toLowerCase() }) }),
      409,
      'username_taken',
    )
  })

  it('pages by username with cursors over such names', async () => {
    const prefix = `pg${unique()}`
    const names = [`${prefix}#a@x.io`, `${prefix}{b}`, `${prefix}.c`, `${prefix}~d`, `${prefix}_e`]
    for (const username of names) await t.createUser({ username })
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const res = await t.api.v1.users.$get({ query: { q: prefix, sort: 'username', limit: '2', ...(cursor ? { cursor } : {}) } })
      expect(res.status).toBe(200)
      if (res.status !== 200) break
      const page = await res.json()
      seen.push(...page.items.map((user) => user.username))
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    expect(seen).toEqual([...names].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)))
  })

  it('reaches the compatibility routes too', async () => {
    const username = `erin_contoso.com#EXT#@fabrikam${unique()}.onmicrosoft.com`
    await t.createUser({ username })
    const res = await t.raw(`/read/${encodeURIComponent(username)}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ username })
  })
})

describe('POST /v1/auth/verify: which user a login names', () => {
  /** A: username looks like an address. B: that address is its email. Created in `order`. */
  async function collision(order: 'username first' | 'email first') {
    const address = `Frank.${unique()}@Example.com`
    const make = {
      a: () => t.createUser({ username: address, password: 'password of A' }),
      b: () => t.createUser({ email: address.toLowerCase(), password: 'password of B' }),
    }
    const [a, b] = order === 'username first' ? [await make.a(), await make.b()] : [await make.b(), await make.a()].reverse()
    return { address, a: a!, b: b! }
  }

  it.each(['username first', 'email first'] as const)(
    'a login with @ names the user with that email, whoever came %s, in any case',
    async (order) => {
      const { address, a, b } = await collision(order)
      for (const login of [address, address.toUpperCase(), address.toLowerCase()]) {
        expect(await signedIn(login, 'password of B')).toBe(b.id)
        // A's password against that login is B's wrong password: 401, never A.
        expect(await signedIn(login, 'password of A')).toBe(401)
      }
      // A still signs in with its own email.
      expect(await signedIn(a.email, 'password of A')).toBe(a.id)
    },
  )

  it('a login with @ names the username when no user has that email', async () => {
    const username = `grace.${unique()}@example.com`
    const user = await t.createUser({ username, password: 'password of G' })
    expect(await signedIn(username.toUpperCase(), 'password of G')).toBe(user.id)
  })

  it('counts failures per user across every name it has, so switching names gains nothing', async () => {
    const username = `heidi.${unique()}@example.com`
    const user = await t.createUser({ username, password: 'the right password' })
    for (const login of [username, user.email, username.toUpperCase()]) {
      await expectProblem(await verify(login, 'a wrong guess'), 401, 'invalid_credentials')
    }
    await expectProblem(await verify(user.email.toUpperCase(), 'the right password'), 429, 'rate_limited')
  })
})
