import { describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { createAuthenticator } from '../src/auth/authenticate'
import type { User } from '../src/client'
import { testConfig } from '../src/config'
import { createStores } from '../src/stores'
import { newUser, useTestApp } from './helpers/context'
import { startRelay } from './helpers/events'
import { apiKey } from './helpers/keys'
import { expectProblem, pointers } from './helpers/problem'

/**
 * Soft delete, restore, the administrative reads of deleted users, and purge (issue 15). Erase has
 * its own file (users.erase.test.ts). Auth is on: these operations are for `users:admin`.
 */
const writer = apiKey('writer', ['users:read', 'users:write'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])

const DAY = 24 * 60 * 60 * 1000
let now = Date.parse('2026-11-25T12:00:00.000Z')
const clock = () => new Date(now)
const t = await useTestApp({
  name: 'users_lifecycle',
  clock,
  deps: {
    config: testConfig({ legacyRoutes: true }),
    authenticator: createAuthenticator({ apiKeys: [writer.entry, admin.entry], jwt: undefined }),
  },
})

// Moves the users' events into the feed: a user is purged only once its events are relayed.
const relay = await startRelay(t)

type Key = { key: string }
const as = (key: Key, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${key.key}`, ...headers })
const get = (path: string, key: Key = admin) => t.raw(path, { headers: as(key) })
const post = (path: string, body?: unknown, key: Key = admin) =>
  t.raw(path, { method: 'POST', headers: as(key, { 'content-type': 'application/json' }), body: JSON.stringify(body) })
const del = (id: string, key: Key = writer, headers: Record<string, string> = {}) =>
  t.raw(`/v1/users/${id}`, { method: 'DELETE', headers: as(key, headers) })
const restore = (id: string, headers: Record<string, string> = {}, key: Key = admin) =>
  t.raw(`/v1/users/${id}/restore`, { method: 'POST', headers: as(key, headers) })

async function create(overrides: Record<string, unknown> = {}): Promise<User> {
  const res = await post('/v1/users', newUser(overrides))
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as User
}

async function deleted(overrides: Record<string, unknown> = {}): Promise<User> {
  const user = await create(overrides)
  expect((await del(user.id, admin)).status).toBe(204)
  return user
}

/** A prefix no other test's users share, so lists of deleted users can be checked whole. */
const tag = () => `lc${randomBytes(4).toString('hex')}`

describe('GET /v1/users/{id}?includeDeleted=true', () => {
  it('returns a deleted user with deletedAt and purgeAt (USER_RETENTION_DAYS later) and its ETag', async () => {
    const user = await deleted({ displayName: 'Kept' })
    const res = await get(`/v1/users/${user.id}?includeDeleted=true`)
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe('"2"')
    const body = (await res.json()) as User
    expect(body).toMatchObject({ ...user, version: 2, deletedAt: clock().toISOString(), updatedAt: clock().toISOString() })
    expect(Date.parse(body.purgeAt ?? '') - Date.parse(body.deletedAt ?? '')).toBe(30 * DAY)
  })

  it('returns a live user as the ordinary read does, without deletedAt or purgeAt', async () => {
    const user = await create()
    const res = await get(`/v1/users/${user.id}?includeDeleted=true`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(user)
    expect(await (await get(`/v1/users/${user.id}?includeDeleted=false`)).json()).toEqual(user)
  })

  it('answers 403 forbidden naming users:admin without it, for a live user too', async () => {
    for (const user of [await deleted(), await create()]) {
      const problem = await expectProblem(await get(`/v1/users/${user.id}?includeDeleted=true`, writer), 403, 'forbidden')
      expect(problem.detail).toContain('users:admin')
    }
  })

  it('answers 400 for a value other than true or false, or the parameter sent twice', async () => {
    const user = await create()
    for (const query of ['includeDeleted=yes', 'includeDeleted=', 'includeDeleted=true&includeDeleted=true']) {
      const problem = await expectProblem(await get(`/v1/users/${user.id}?${query}`), 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['query:/includeDeleted'])
    }
  })

  it('answers 404 for an unknown id', async () => {
    await expectProblem(await get('/v1/users/0123456789abcdef01234567?includeDeleted=true'), 404, 'user_not_found')
  })
})

describe('GET /v1/users?deleted=true', () => {
  it('lists deleted users only, with deletedAt and purgeAt; the ordinary list never shows them', async () => {
    const prefix = tag()
    const [gone, live] = [await deleted({ username: `${prefix}.gone` }), await create({ username: `${prefix}.live` })]
    const deletedPage = await get(`/v1/users?deleted=true&q=${prefix}&includeTotal=true`)
    expect(deletedPage.status).toBe(200)
    const { items, total } = (await deletedPage.json()) as { items: User[]; total: number }
    expect(items.map((u) => u.id)).toEqual([gone.id])
    expect(total).toBe(1)
    expect(items[0]).toMatchObject({ deletedAt: expect.any(String), purgeAt: expect.any(String) })
    const livePage = (await (await get(`/v1/users?q=${prefix}&includeTotal=true`)).json()) as { items: User[]; total: number }
    expect(livePage.items.map((u) => u.id)).toEqual([live.id])
    expect(livePage.total).toBe(1)
  })

  it('answers 403 forbidden naming users:admin without it', async () => {
    const problem = await expectProblem(await get('/v1/users?deleted=true', writer), 403, 'forbidden')
    expect(problem.detail).toContain('users:admin')
    expect((await get('/v1/users?deleted=false', writer)).status).toBe(200)
  })

  it('filters by role, status and q (case-insensitive prefix of username or email)', async () => {
    const prefix = tag()
    const mod = await deleted({ username: `${prefix}.Mod`, role: 'moderator' })
    const off = await deleted({ username: `${prefix}.off`, status: 'disabled' })
    const ids = async (query: string) =>
      ((await (await get(`/v1/users?deleted=true&${query}`)).json()) as { items: User[] }).items.map((u) => u.id).sort()
    expect(await ids(`q=${prefix.toUpperCase()}.m`)).toEqual([mod.id])
    expect(await ids(`q=${prefix}&role=moderator`)).toEqual([mod.id])
    expect(await ids(`q=${prefix}&status=disabled`)).toEqual([off.id])
    expect(await ids(`q=${encodeURIComponent(off.email.slice(0, 12).toUpperCase())}`)).toEqual([off.id])
  })

  it.each(['username', '-username', 'createdAt', '-createdAt'] as const)(
    'walks every page sorted by %s: same cursors, no duplicates, no gaps',
    async (sort) => {
      const prefix = tag()
      // Two deleted users with the same name one after the other, and mixed case.
      const names = ['b', 'A', 'c', 'b', 'd', 'E', 'b']
      const users: User[] = []
      for (const name of names) {
        now += 1000
        users.push(await deleted({ username: `${prefix}${name}` }))
      }
      const seen: User[] = []
      let cursor: string | null = null
      do {
        const page = await get(`/v1/users?deleted=true&q=${prefix}&sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        expect(page.status).toBe(200)
        const body = (await page.json()) as { items: User[]; nextCursor: string | null }
        seen.push(...body.items)
        cursor = body.nextCursor
      } while (cursor)
      expect(seen.map((u) => u.id).sort()).toEqual(users.map((u) => u.id).sort())
      const key = (u: User) => (sort.endsWith('username') ? `${u.username}\u0000${u.id}` : `${u.createdAt}\u0000${u.id}`)
      const expected = [...users].sort((a, b) => (key(a) < key(b) ? -1 : 1)).map((u) => u.id)
      expect(seen.map((u) => u.id)).toEqual(sort.startsWith('-') ? expected.reverse() : expected)
    },
  )

  it('refuses a cursor of the ordinary list, and the other way round (the fingerprint includes deleted)', async () => {
    const prefix = tag()
    for (let i = 0; i < 3; i++) {
      await deleted({ username: `${prefix}d${i}` })
      await create({ username: `${prefix}l${i}` })
    }
    const cursorOf = async (query: string) =>
      ((await (await get(`/v1/users?q=${prefix}&limit=1&${query}`)).json()) as { nextCursor: string }).nextCursor
    const live = await cursorOf('deleted=false')
    const gone = await cursorOf('deleted=true')
    for (const [query, cursor] of [
      ['deleted=true', live],
      ['deleted=false', gone],
    ] as const) {
      const problem = await expectProblem(
        await get(`/v1/users?q=${prefix}&limit=1&${query}&cursor=${cursor}`),
        400,
        'validation_failed',
      )
      expect(problem.errors?.[0]).toMatchObject({ location: 'query', pointer: '/cursor', code: 'cursor_mismatch' })
    }
  })

  it('answers 400 for deleted=yes', async () => {
    const problem = await expectProblem(await get('/v1/users?deleted=yes'), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['query:/deleted'])
  })
})

describe('POST /v1/users/{id}/restore', () => {
  it('makes the user live again at version + 1, with everything it had, its password included', async () => {
    const password = 'correct horse battery'
    const user = await create({ password, displayName: 'Back', metadata: { plan: 'pro' }, role: 'moderator' })
    await del(user.id, admin)
    now += DAY
    const res = await restore(user.id)
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe('"3"')
    const back = (await res.json()) as User
    expect(back).toEqual({ ...user, version: 3, updatedAt: clock().toISOString() })
    expect(await (await get(`/v1/users/${user.id}`)).json()).toEqual(back)
    expect((await get(`/v1/users/by-username/${user.username}`)).status).toBe(200)
    const verified = await post('/v1/auth/verify', { login: user.email, password })
    expect(verified.status).toBe(200)
  })

  it('keeps the status it had: a disabled user comes back disabled (restore undoes the delete only)', async () => {
    const user = await deleted({ status: 'disabled' })
    expect(await (await restore(user.id)).json()).toMatchObject({ id: user.id, status: 'disabled' })
  })

  it('answers 409 username_taken, naming the field, when the name was taken meanwhile; the user stays deleted', async () => {
    const user = await deleted()
    await create({ username: user.username.toUpperCase() })
    const problem = await expectProblem(await restore(user.id), 409, 'username_taken')
    expect(pointers(problem)).toEqual(['body:/username'])
    expect((await get(`/v1/users/${user.id}`)).status).toBe(404)
    expect((await get(`/v1/users/${user.id}?includeDeleted=true`)).status).toBe(200)
  })

  it('answers 409 email_taken when the address was taken meanwhile', async () => {
    const user = await deleted()
    await create({ email: user.email.toUpperCase() })
    const problem = await expectProblem(await restore(user.id), 409, 'email_taken')
    expect(pointers(problem)).toEqual(['body:/email'])
  })

  it('frees the externalId at the delete, and takes it back on restore (409 external_id_taken if taken meanwhile)', async () => {
    const externalId = `ext-${tag()}`
    const first = await deleted({ externalId })
    // Free at once: a new user (a re-provisioning, say) may take it.
    const second = await create({ externalId })
    const problem = await expectProblem(await restore(first.id), 409, 'external_id_taken')
    expect(pointers(problem)).toEqual(['body:/externalId'])
    // Once the new user lets it go, the old one gets it back with the restore.
    expect((await del(second.id, admin)).status).toBe(204)
    const restored = await restore(first.id)
    expect(restored.status).toBe(200)
    expect(((await restored.json()) as User).externalId).toBe(externalId)
    await expectProblem(await post('/v1/users', newUser({ externalId })), 409, 'external_id_taken')
  })

  it('declares each 409 a restore answers in the OpenAPI document, external_id_taken included', async () => {
    const document = (await (await t.raw('/openapi.json')).json()) as {
      paths: Record<string, { post: { responses: Record<string, { description: string }> } }>
    }
    const conflict = document.paths['/v1/users/{id}/restore']?.post.responses['409']?.description ?? ''
    for (const code of ['username_taken', 'email_taken', 'external_id_taken']) expect(conflict).toContain(`\`${code}\``)
  })

  it('answers 412 with the current ETag when If-Match is stale, and restores with the current one', async () => {
    const user = await deleted()
    const stale = await restore(user.id, { 'if-match': '"1"' })
    await expectProblem(stale, 412, 'precondition_failed')
    expect(stale.headers.get('etag')).toBe('"2"')
    expect((await restore(user.id, { 'if-match': '"2"' })).status).toBe(200)
  })

  it('answers 404 when no deleted user has the id: live, restored already, or unknown', async () => {
    const live = await create()
    const problem = await expectProblem(await restore(live.id), 404, 'user_not_found')
    // It exists, live: the detail says what was looked for.
    expect(problem.detail).toBe(`No deleted user has id '${live.id}'.`)
    const user = await deleted()
    expect((await restore(user.id)).status).toBe(200)
    await expectProblem(await restore(user.id), 404, 'user_not_found')
    await expectProblem(await restore('0123456789abcdef01234567'), 404, 'user_not_found')
  })

  it('answers 403 forbidden naming users:admin to a writer, restoring nothing', async () => {
    const user = await deleted()
    const problem = await expectProblem(await restore(user.id, {}, writer), 403, 'forbidden')
    expect(problem.detail).toContain('users:admin')
    expect((await get(`/v1/users/${user.id}`)).status).toBe(404)
  })

  it('answers 400 to a body, restoring nothing: it takes none', async () => {
    const user = await deleted()
    const res = await post(`/v1/users/${user.id}/restore`, { username: 'renamed' })
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:'])
    expect((await get(`/v1/users/${user.id}`)).status).toBe(404)
  })

  it('race: two restores and a create of the same username at once have exactly one winner', async () => {
    for (let round = 0; round < 5; round++) {
      const username = `race${randomBytes(4).toString('hex')}`
      const first = await deleted({ username })
      const second = await deleted({ username: username.toUpperCase() })
      const answers = await Promise.all([restore(first.id), restore(second.id), post('/v1/users', newUser({ username }))])
      const statuses = answers.map((res) => res.status)
      expect(statuses.filter((status) => status === 200 || status === 201)).toHaveLength(1)
      expect(statuses.filter((status) => status === 409)).toHaveLength(2)
      for (const res of answers.filter((answer) => answer.status === 409)) {
        expect(((await res.json()) as { code: string }).code).toBe('username_taken')
      }
      expect(await t.collection.countDocuments({ usernameKey: username.toLowerCase() })).toBe(1)
    }
  })

  it('race: ten restores of one deleted user at once have exactly one winner, the rest 404', async () => {
    const user = await deleted()
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => restore(user.id)))).map((res) => res.status)
    expect(statuses.sort()).toEqual([200, ...Array(9).fill(404)])
    expect((await (await get(`/v1/users/${user.id}`)).json()) as User).toMatchObject({ version: 3 })
  })
})

describe('purge after USER_RETENTION_DAYS', () => {
  it('past purgeAt the user is gone from every read at once, and the purge deletes its document', async () => {
    const due = await deleted()
    now += DAY
    const later = await deleted()
    const live = await create()
    now += 29 * DAY + 1 // due is just past its purgeAt, later a day short of its own
    await expectProblem(await get(`/v1/users/${due.id}?includeDeleted=true`), 404, 'user_not_found')
    await expectProblem(await restore(due.id), 404, 'user_not_found')
    const listed = (await (await get(`/v1/users?deleted=true&q=${due.username}`)).json()) as { items: User[] }
    expect(listed.items).toEqual([])
    await relay.drain()
    expect(await t.users.purge()).toBeGreaterThanOrEqual(1)
    const ids = (await t.collection.find({}, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id.toHexString())
    expect(ids).not.toContain(due.id)
    expect(ids).toContain(later.id)
    expect(ids).toContain(live.id)
    expect((await get(`/v1/users/${later.id}?includeDeleted=true`)).status).toBe(200)
  })

  it('keeps a user past its purgeAt until its events are relayed, then purges it', async () => {
    await relay.stop()
    const user = await deleted()
    now += 31 * DAY
    await t.users.purge()
    // Still there, unreadable: its user.deleted event is waiting in its outbox.
    expect(await t.collection.countDocuments({ username: user.username })).toBe(1)
    await expectProblem(await get(`/v1/users/${user.id}?includeDeleted=true`), 404, 'user_not_found')
    const again = await startRelay(t)
    await again.drain()
    expect(await t.users.purge()).toBeGreaterThanOrEqual(1)
    expect(await t.collection.countDocuments({ username: user.username })).toBe(0)
  })

  it('is run by the stores sweeper, on every server', async () => {
    const stores = createStores(t.database, { failureWindowSeconds: 60, clock, sweepEveryMs: 20 })
    await stores.open()
    // And a relay, which moves the user's events first.
    await startRelay(t)
    try {
      const user = await deleted()
      now += 31 * DAY
      const gone = async () => (await t.collection.countDocuments({ username: user.username })) === 0
      // Waits for the sweeper (every 20 ms) for up to 10 s: a bound, not a timing assertion.
      for (let waited = 0; waited < 10_000 && !(await gone()); waited += 50) await Bun.sleep(50)
      expect(await gone()).toBe(true)
    } finally {
      stores.close()
    }
  })
})

describe('compatibility routes and deleted users', () => {
  it('DELETE /delete/{username} is the soft delete; then /read, /read/{username}, /update and /delete no longer see the user', async () => {
    const user = await create()
    const res = await t.raw(`/delete/${user.username}`, { method: 'DELETE', headers: as(writer) })
    expect(res.status).toBe(200)
    expect((await get(`/v1/users/${user.id}?includeDeleted=true`)).status).toBe(200)
    const all = (await (await get('/read')).json()) as { username: string }[]
    expect(all.map((u) => u.username)).not.toContain(user.username)
    expect((await get(`/read/${user.username}`)).status).toBe(404)
    const update = await t.raw(`/update/${user.username}`, {
      method: 'PUT',
      headers: as(writer, { 'content-type': 'application/json' }),
      body: JSON.stringify({ email: 'other@example.com' }),
    })
    expect(update.status).toBe(404)
    expect((await t.raw(`/delete/${user.username}`, { method: 'DELETE', headers: as(writer) })).status).toBe(404)
  })
})
