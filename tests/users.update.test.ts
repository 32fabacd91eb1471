import { describe, expect, it } from 'bun:test'
import type { User } from '../src/client'
import { newUser, useTestApp } from './helpers/context'
import { expectProblem, pointers } from './helpers/problem'

const t = await useTestApp({ name: 'update' })

const patch = (id: string, body: unknown, headers: Record<string, string> = {}, contentType = 'application/merge-patch+json') =>
  t.raw(`/v1/users/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': contentType, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

describe('PATCH /v1/users/{id}', () => {
  it('changes the given fields, bumps the version and returns the new ETag', async () => {
    const user = await t.createUser()
    const res = await t.api.v1.users[':id'].$patch({ param: { id: user.id }, json: { displayName: 'New Name', role: 'admin' } })
    expect(res.status).toBe(200)
    if (res.status !== 200) return
    const updated = await res.json()
    expect(updated).toMatchObject({ id: user.id, displayName: 'New Name', role: 'admin', version: 2, username: user.username })
    expect(res.headers.get('etag')).toBe('"2"')
    expect(updated.createdAt).toBe(user.createdAt)
    expect(updated.updatedAt >= user.updatedAt).toBe(true)
  })

  it('accepts application/merge-patch+json and application/json', async () => {
    const user = await t.createUser()
    expect((await patch(user.id, { displayName: 'A' })).status).toBe(200)
    expect((await patch(user.id, { displayName: 'B' }, {}, 'application/json')).status).toBe(200)
  })

  it('keeps the version when every value is already stored', async () => {
    const user = await t.createUser({ displayName: 'Same', metadata: { a: 1 } })
    const res = await patch(user.id, {
      displayName: 'Same',
      username: user.username,
      email: user.email,
      role: 'user',
      metadata: { a: 1 },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe('"1"')
    expect(((await res.json()) as User).version).toBe(1)
  })

  it('removes displayName with null', async () => {
    const user = await t.createUser({ displayName: 'Someone' })
    const res = await patch(user.id, { displayName: null })
    const updated = (await res.json()) as User
    expect(updated.version).toBe(2)
    expect('displayName' in updated).toBe(false)
    expect((await t.collection.findOne({ username: user.username }))?.displayName).toBeUndefined()
  })

  it('merges metadata key by key (RFC 7396)', async () => {
    const user = await t.createUser({ metadata: { plan: 'free', prefs: { theme: 'light', lang: 'en' }, drop: 1 } })
    const res = await patch(user.id, { metadata: { plan: 'pro', prefs: { theme: 'dark' }, drop: null, added: [1, 2] } })
    expect(((await res.json()) as User).metadata).toEqual({ plan: 'pro', prefs: { theme: 'dark', lang: 'en' }, added: [1, 2] })
  })

  it('empties metadata with "metadata": null (RFC 7396 removes the member; its default is {})', async () => {
    const user = await t.createUser({ metadata: { a: 1 } })
    const res = await patch(user.id, { metadata: null })
    expect(await res.json()).toMatchObject({ metadata: {}, version: 2 })
  })

  it('refuses a metadata patch whose merge exceeds 16 KiB, changing nothing', async () => {
    const user = await t.createUser({ metadata: { a: 'x'.repeat(10_000) } })
    const problem = await expectProblem(await patch(user.id, { metadata: { b: 'y'.repeat(10_000) } }), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:/metadata'])
    expect((await t.collection.findOne({ username: user.username }))?.version).toBe(1)
  })

  it('sets a password as an argon2id hash, never echoing it', async () => {
    const user = await t.createUser()
    const res = await patch(user.id, { password: 'a brand new secret' })
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(text).not.toContain('a brand new secret')
    expect(JSON.parse(text)).toMatchObject({ hasPassword: true, version: 2 })
    const stored = await t.collection.findOne({ username: user.username })
    expect(await Bun.password.verify('a brand new secret', stored!.passwordHash)).toBe(true)
  })

  it('renames a user, and the old name becomes free', async () => {
    const user = await t.createUser()
    const renamed = newUser().username
    expect((await patch(user.id, { username: renamed.toUpperCase() })).status).toBe(200)
    const found = await t.api.v1.users['by-username'][':username'].$get({ param: { username: renamed } })
    expect(found.status).toBe(200)
    expect((await t.api.v1.users.$post({ json: newUser({ username: user.username }) })).status).toBe(201)
  })

  it('allows changing only the case of the own username', async () => {
    const user = await t.createUser()
    const res = await patch(user.id, { username: user.username.toUpperCase() })
    expect(res.status).toBe(200)
    expect(((await res.json()) as User).username).toBe(user.username.toUpperCase())
  })

  it('returns 409 username_taken when renaming onto another user (any case)', async () => {
    const [a, b] = [await t.createUser(), await t.createUser()]
    const problem = await expectProblem(await patch(a.id, { username: b.username.toUpperCase() }), 409, 'username_taken')
    expect(pointers(problem)).toEqual(['body:/username'])
    expect((await t.collection.findOne({ username: a.username }))?.version).toBe(1)
  })

  it('returns 409 email_taken when changing the email onto another user', async () => {
    const [a, b] = [await t.createUser(), await t.createUser()]
    await expectProblem(await patch(a.id, { email: b.email.toUpperCase() }), 409, 'email_taken')
  })

  it('names the right field when both username and email change and the email collides', async () => {
    const [a, b] = [await t.createUser(), await t.createUser()]
    await expectProblem(await patch(a.id, { username: newUser().username, email: b.email }), 409, 'email_taken')
  })

  it('returns 404 for an unknown id and 400 for a malformed one', async () => {
    await expectProblem(await patch('0123456789abcdef01234567', { displayName: 'x' }), 404, 'user_not_found')
    await expectProblem(await patch('nope', { displayName: 'x' }), 400, 'validation_failed')
  })

  it.each([
    ['an empty object', {}, ['body:']],
    ['an unknown field', { version: 9 }, ['body:/version']],
    ['a server-owned field', { createdAt: '2020-01-01T00:00:00Z' }, ['body:/createdAt']],
    ['an operator object', { displayName: { $set: 'x' } }, ['body:/displayName']],
    ['null username', { username: null }, ['body:/username']],
    ['a bad metadata key', { metadata: { 'a.b': 1 } }, ['body:/metadata/a.b']],
  ])('returns 400 for %s and changes nothing', async (_, body, expected) => {
    const user = await t.createUser()
    const problem = await expectProblem(await patch(user.id, body), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(expected)
    expect((await t.collection.findOne({ username: user.username }))?.version).toBe(1)
  })

  it('rejects a __proto__ key in the body, changing nothing', async () => {
    const user = await t.createUser()
    const problem = await expectProblem(
      await patch(user.id, '{"__proto__":{"role":"admin"},"displayName":"x"}'),
      400,
      'validation_failed',
    )
    expect(pointers(problem)).toEqual(['body:/__proto__'])
    expect(await t.collection.findOne({ username: user.username })).toMatchObject({ role: 'user', version: 1 })
  })

  it('returns 413 for a body over the limit', async () => {
    const user = await t.createUser()
    await expectProblem(await patch(user.id, { metadata: { blob: 'x'.repeat(70 * 1024) } }), 413, 'payload_too_large')
  })

  it('returns 400 malformed_json and 415 for a wrong content type', async () => {
    const user = await t.createUser()
    await expectProblem(await patch(user.id, '{"displayName":'), 400, 'malformed_json')
    await expectProblem(await patch(user.id, { displayName: 'x' }, {}, 'text/plain'), 415, 'unsupported_media_type')
  })

  describe('If-Match', () => {
    it('applies the patch when the ETag is current', async () => {
      const user = await t.createUser()
      const res = await t.api.v1.users[':id'].$patch(
        { param: { id: user.id }, json: { displayName: 'x' } },
        { headers: { 'If-Match': '"1"' } },
      )
      expect(res.status).toBe(200)
      expect(res.headers.get('etag')).toBe('"2"')
    })

    it('returns 412 with the current ETag when stale, changing nothing', async () => {
      const user = await t.createUser()
      await patch(user.id, { displayName: 'v2' })
      const res = await patch(user.id, { displayName: 'lost?' }, { 'If-Match': '"1"' })
      await expectProblem(res, 412, 'precondition_failed')
      expect(res.headers.get('etag')).toBe('"2"')
      expect((await t.collection.findOne({ username: user.username }))?.displayName).toBe('v2')
    })

    it('never matches a weak tag, and * matches any version', async () => {
      const user = await t.createUser()
      await expectProblem(await patch(user.id, { displayName: 'x' }, { 'If-Match': 'W/"1"' }), 412, 'precondition_failed')
      expect((await patch(user.id, { displayName: 'x' }, { 'If-Match': '*' })).status).toBe(200)
    })

    it('returns 400 for a malformed If-Match instead of ignoring it', async () => {
      const user = await t.createUser()
      const problem = await expectProblem(
        await patch(user.id, { displayName: 'x' }, { 'If-Match': '1' }),
        400,
        'validation_failed',
      )
      expect(pointers(problem)).toEqual(['header:/if-match'])
    })

    it('lets exactly one of 20 concurrent PATCHes with the same ETag win', async () => {
      const user = await t.createUser()
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => patch(user.id, { displayName: `writer ${i}` }, { 'If-Match': '"1"' })),
      )
      const statuses = responses.map((r) => r.status)
      expect(statuses.filter((s) => s === 200)).toHaveLength(1)
      expect(statuses.filter((s) => s === 412)).toHaveLength(19)
      for (const res of responses.filter((r) => r.status === 412)) expect(res.headers.get('etag')).toBe('"2"')
      const winner = (await responses.find((r) => r.status === 200)!.json()) as User
      const stored = await t.collection.findOne({ username: user.username })
      expect(stored).toMatchObject({ version: 2, displayName: winner.displayName })
    })
  })

  it('accepts every concurrent PATCH whose If-Match lists each version it could meet', async () => {
    const user = await t.createUser()
    const everyVersion = Array.from({ length: 12 }, (_, i) => `"${i + 1}"`).join(', ')
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => patch(user.id, { metadata: { [`k${i}`]: i } }, { 'If-Match': everyVersion })),
    )
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200))
    expect((await t.collection.findOne({ username: user.username }))?.version).toBe(11)
  })

  it('loses no change under 20 concurrent PATCHes without If-Match', async () => {
    const user = await t.createUser()
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => patch(user.id, { metadata: { [`k${i}`]: i } })))
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200))
    const versions = await Promise.all(responses.map(async (r) => ((await r.json()) as User).version))
    expect(versions.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2))
    const stored = await t.collection.findOne({ username: user.username })
    expect(stored?.version).toBe(21)
    expect(Object.keys(stored?.metadata ?? {}).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`).sort())
  })
})

// An app whose hasher counts its calls: hashing is the expensive step a caller can trigger.
let hashes = 0
const counted = await useTestApp({
  name: 'update_hash',
  deps: {
    passwords: {
      hash: async (password) => {
        hashes++
        return Bun.password.hash(password, { algorithm: 'argon2id', memoryCost: 65536, timeCost: 2 })
      },
      verify: (password, hash) => Bun.password.verify(password, hash),
    },
  },
})

describe('PATCH /v1/users/{id} with a password', () => {
  it('hashes only once the user exists and If-Match holds, and only once under contention', async () => {
    const c = counted
    const res = await c.api.v1.users.$post({ json: newUser() })
    const user = (await res.json()) as User
    const send = (headers: Record<string, string>, id = user.id) =>
      c.raw(`/v1/users/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{"password":"long enough secret"}',
      })

    await expectProblem(await send({}, '0123456789abcdef01234567'), 404, 'user_not_found')
    await expectProblem(await send({ 'If-Match': '"9"' }), 412, 'precondition_failed')
    await expectProblem(await send({ 'If-Match': 'garbage' }), 400, 'validation_failed')
    expect(hashes).toBe(0)

    // Concurrent metadata writers make the password PATCH lose races and retry.
    const others = Array.from({ length: 5 }, (_, i) =>
      c.raw(`/v1/users/${user.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ metadata: { [`m${i}`]: i } }),
      }),
    )
    const [mine] = await Promise.all([send({}), ...others])
    expect(mine.status).toBe(200)
    expect(hashes).toBe(1)
  })
})
