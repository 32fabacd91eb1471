import { describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { BSON, MongoClient, ObjectId } from 'mongodb'
import { createAuthenticator } from '../src/auth/authenticate'
import type { User } from '../src/client'
import { testConfig } from '../src/config'
import { attachDatabase } from '../src/db/calls'
import type { IdempotencyStore } from '../src/idempotency/idempotency'
import { createIdempotencyStore } from '../src/idempotency/idempotency.repository'
import { ERASED_FIELDS } from '../src/users/users.lifecycle.document'
import { newUser, useTestApp } from './helpers/context'
import { startRelay } from './helpers/events'
import { apiKey } from './helpers/keys'
import { expectProblem, pointers } from './helpers/problem'

/**
 * POST /v1/users/{id}/erase (issue 15): a data-protection erasure. Every personal value of the
 * user is gone at once from every collection the service keeps, checked by reading every
 * document of every collection of the test database as raw JSON.
 */
const writer = apiKey('writer', ['users:read', 'users:write'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])

const t = await useTestApp({
  name: 'users_erase',
  deps: {
    config: testConfig({ legacyRoutes: true }),
    authenticator: createAuthenticator({ apiKeys: [writer.entry, admin.entry], jwt: undefined }),
  },
})

// Driven by the tests (no loop): events reach the events collection when a test drains it.
const relay = await startRelay(t, { loop: false })

type Key = { key: string }
const as = (key: Key, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${key.key}`, ...headers })
const get = (path: string) => t.raw(path, { headers: as(admin) })
const post = (path: string, body: unknown, key: Key = admin, headers: Record<string, string> = {}) =>
  t.raw(path, {
    method: 'POST',
    headers: as(key, { 'content-type': 'application/json', ...headers }),
    body: JSON.stringify(body),
  })
const erase = (id: string, key: Key = admin, headers: Record<string, string> = {}) =>
  t.raw(`/v1/users/${id}/erase`, { method: 'POST', headers: as(key, headers) })

async function create(overrides: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<User> {
  const res = await post('/v1/users', newUser(overrides), admin, headers)
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as User
}

/** Every document of every collection of the test database, each as canonical Extended JSON. */
async function everyDocument(): Promise<string[]> {
  const collections = await t.db.listCollections({}, { nameOnly: true }).toArray()
  const documents: string[] = []
  for (const { name } of collections) {
    for (const doc of await t.db.collection(name).find({}).toArray()) documents.push(`${name} ${BSON.EJSON.stringify(doc)}`)
  }
  return documents
}

/** The documents that contain `value` (compared in lower case: keys are stored lower-cased). */
const holding = (documents: string[], value: string) =>
  documents.filter((doc) => doc.toLowerCase().includes(JSON.stringify(value).slice(1, -1).toLowerCase()))

describe('POST /v1/users/{id}/erase', () => {
  it('leaves no personal value of the user in any collection: users and their outbox, events, idempotency records, failed-attempt counts', async () => {
    const secret = randomBytes(4).toString('hex')
    const password = `pw-${secret}-long`
    const body = {
      displayName: `Display ${secret}`,
      metadata: { note: `note-${secret}`, nested: { deep: `deep-${secret}` } },
      password,
    }
    const user = await create(body, { 'idempotency-key': `key-${secret}` })
    const other = await create({ displayName: `Other ${secret}` })
    // Its events: published ones (in events, and its eventBase), and one still pending in its outbox.
    await relay.drain()
    const renamed = `Renamed ${secret}`
    const patched = await t.raw(`/v1/users/${user.id}`, {
      method: 'PATCH',
      headers: as(admin, { 'content-type': 'application/merge-patch+json' }),
      body: JSON.stringify({ givenName: renamed }),
    })
    expect(patched.status).toBe(200)
    const { passwordHash } = (await t.collection.findOne({ _id: new ObjectId(user.id) })) as unknown as { passwordHash: string }
    // Failed attempts while live (counted under the user's id) and while deleted (under each login).
    expect((await post('/v1/auth/verify', { login: user.username, password: 'wrong-password' })).status).toBe(401)
    expect((await t.raw(`/v1/users/${user.id}`, { method: 'DELETE', headers: as(admin) })).status).toBe(204)
    for (const login of [user.username, user.email.toUpperCase()]) {
      expect((await post('/v1/auth/verify', { login, password })).status).toBe(401)
    }
    // And one of another user, which must survive.
    expect((await post('/v1/auth/verify', { login: other.username, password: 'wrong-password' })).status).toBe(401)
    const values = [
      user.username,
      user.email,
      body.displayName,
      body.metadata.note,
      body.metadata.nested.deep,
      passwordHash,
      renamed,
    ]
    // Counters are stored under keyed digests (nothing readable to scan for): count the per-login
    // ones instead, the user's three (its id while live, each login while deleted) and the other's.
    const loginCounters = () => t.db.collection('auth_failures').countDocuments({ kind: 'login' })
    expect(await loginCounters()).toBe(4)
    const before = await everyDocument()
    // The scan finds what is there: every value is held somewhere before the erase, and in
    // idempotency_keys and auth_failures too, not only in users.
    for (const value of values) expect(holding(before, value).length).toBeGreaterThan(0)
    expect(holding(before, user.email).some((doc) => doc.startsWith('idempotency_keys '))).toBe(true)
    expect(holding(before, body.displayName).some((doc) => doc.startsWith('events '))).toBe(true)
    const stored = holding(before, body.displayName).find((doc) => doc.startsWith('users ')) ?? ''
    expect(stored).toContain('"eventBase"')
    expect(holding(before, renamed).find((doc) => doc.startsWith('users '))).toContain('"pendingEvents"')

    expect((await erase(user.id)).status).toBe(204)

    const after = await everyDocument()
    for (const value of values) expect({ value, holding: holding(after, value) }).toEqual({ value, holding: [] })
    // And once the erasure itself is published.
    await relay.drain()
    const published = await everyDocument()
    for (const value of values) expect({ value, holding: holding(published, value) }).toEqual({ value, holding: [] })
    const events = await t.db.collection('events').find({ userId: user.id }).sort({ sequence: 1 }).toArray()
    expect(events.map((event) => event.type)).toEqual(['user.created', 'user.updated', 'user.deleted', 'user.erased'])
    for (const event of events) expect(event.data).toEqual({})
    expect(await loginCounters()).toBe(1)
    // Another user is untouched.
    expect(holding(after, other.username).length).toBeGreaterThan(0)
    expect(await (await get(`/v1/users/${other.id}`)).json()).toEqual(other)
  }, 30_000)

  it("leaves no record of another caller's keyed create that collided with the user's username or email", async () => {
    const user = await create()
    // A writer's keyed creates refused for the erased-to-be user's values (security review: the
    // 409's detail, kept for replays, named them for 24 hours after the erase).
    for (const [field, value] of [
      ['email', user.email.toUpperCase()],
      ['username', user.username],
    ] as const) {
      const collided = await post('/v1/users', newUser({ [field]: value }), writer, { 'idempotency-key': `collide-${value}` })
      expect(collided.status).toBe(409)
    }
    expect((await erase(user.id)).status).toBe(204)
    const after = await everyDocument()
    for (const value of [user.username, user.email])
      expect({ value, holding: holding(after, value) }).toEqual({ value, holding: [] })
  })

  it('answers 404 to every later read, restore and erase of the id', async () => {
    const user = await create({ password: 'correct horse battery' })
    expect((await erase(user.id)).status).toBe(204)
    for (const path of [
      `/v1/users/${user.id}`,
      `/v1/users/${user.id}?includeDeleted=true`,
      `/v1/users/by-username/${user.username}`,
      `/v1/users/by-email/${encodeURIComponent(user.email)}`,
    ]) {
      await expectProblem(await get(path), 404, 'user_not_found')
    }
    await expectProblem(await post(`/v1/users/${user.id}/restore`, undefined), 404, 'user_not_found')
    await expectProblem(await erase(user.id), 404, 'user_not_found')
    const listed = async (deleted: boolean) =>
      ((await (await get(`/v1/users?deleted=${deleted}&q=${user.username}`)).json()) as { items: User[] }).items
    expect(await listed(false)).toEqual([])
    expect(await listed(true)).toEqual([])
    expect((await post('/v1/auth/verify', { login: user.username, password: 'correct horse battery' })).status).toBe(401)
    // Its name and address are free at once.
    expect((await post('/v1/users', { username: user.username, email: user.email })).status).toBe(201)
  })

  it('keeps only the allow-listed fields, whatever else the document held (fields added later included)', async () => {
    const user = await create({ displayName: 'Listed' })
    // Fields this service does not know yet, written straight into the document.
    await t.collection.updateOne(
      { _id: new ObjectId(user.id) },
      { $set: { givenName: 'Alice', externalId: 'ext-1', futureField: { anything: 'personal' } } },
    )
    expect((await erase(user.id)).status).toBe(204)
    const tombstone = await t.collection.findOne({ _id: new ObjectId(user.id) })
    expect(Object.keys(tombstone ?? {}).sort()).toEqual([...ERASED_FIELDS].sort())
    expect(tombstone).toMatchObject({ version: 2, erasedAt: expect.any(Date), deletedAt: expect.any(Date) })
    expect(tombstone?.usernameKey).toBe(`\u0000deleted:${user.id}`)
  })

  it('erases a deleted user too, which keeps the purge it was promised', async () => {
    const user = await create()
    expect((await t.raw(`/v1/users/${user.id}`, { method: 'DELETE', headers: as(writer) })).status).toBe(204)
    const { purgeAt } = (await (await get(`/v1/users/${user.id}?includeDeleted=true`)).json()) as User
    expect((await erase(user.id)).status).toBe(204)
    const tombstone = await t.collection.findOne({ _id: new ObjectId(user.id) })
    expect(tombstone?.purgeAt?.toISOString()).toBe(purgeAt)
    expect(tombstone?.username).toBeUndefined()
  })

  it('refuses a retry of the create with the same Idempotency-Key (422) instead of creating the user again', async () => {
    const key = `key-${randomBytes(4).toString('hex')}`
    const body = newUser()
    const first = await post('/v1/users', body, admin, { 'idempotency-key': key })
    const { id } = (await first.json()) as User
    expect((await erase(id)).status).toBe(204)
    const retry = await post('/v1/users', body, admin, { 'idempotency-key': key })
    await expectProblem(retry, 422, 'idempotency_key_reused')
    expect(await t.collection.countDocuments({ username: body.username })).toBe(0)
  })

  it('answers 403 forbidden naming users:admin to a writer, erasing nothing', async () => {
    const user = await create()
    const problem = await expectProblem(await erase(user.id, writer), 403, 'forbidden')
    expect(problem.detail).toContain('users:admin')
    expect(await (await get(`/v1/users/${user.id}`)).json()).toEqual(user)
  })

  it('answers 400 to a body or a malformed id, and 404 to an unknown id, erasing nothing', async () => {
    const user = await create()
    const withBody = await post(`/v1/users/${user.id}/erase`, {})
    expect(pointers(await expectProblem(withBody, 400, 'validation_failed'))).toEqual(['body:'])
    const malformed = await t.raw('/v1/users/not-an-id/erase', { method: 'POST', headers: as(admin) })
    expect(pointers(await expectProblem(malformed, 400, 'validation_failed'))).toEqual(['path:/id'])
    await expectProblem(await erase('0123456789abcdef01234567'), 404, 'user_not_found')
    expect(await (await get(`/v1/users/${user.id}`)).json()).toEqual(user)
  })

  it('honours If-Match: 412 with the current ETag when stale, 400 when malformed, erasing nothing; 204 when it matches', async () => {
    // An erase cannot be undone: an If-Match it ignored would turn a guarded request into a blind one.
    const user = await create()
    const renamed = await t.raw(`/v1/users/${user.id}`, {
      method: 'PATCH',
      headers: as(admin, { 'content-type': 'application/merge-patch+json' }),
      body: JSON.stringify({ displayName: 'Renamed' }),
    })
    expect(renamed.status).toBe(200)
    const stale = await erase(user.id, admin, { 'If-Match': '"1"' })
    await expectProblem(stale, 412, 'precondition_failed')
    expect(stale.headers.get('etag')).toBe('"2"')
    await expectProblem(await erase(user.id, admin, { 'If-Match': 'garbage' }), 400, 'validation_failed')
    expect((await get(`/v1/users/${user.id}`)).status).toBe(200)
    expect((await erase(user.id, admin, { 'If-Match': '"2"' })).status).toBe(204)
    expect((await get(`/v1/users/${user.id}`)).status).toBe(404)
  })

  it('goes through while the user keeps being changed, and the changes after it answer 404', async () => {
    const user = await create({ displayName: 'Busy' })
    let stop = false
    const statuses: number[] = []
    const renaming = (async () => {
      for (let n = 0; !stop && n < 500; n++) {
        const res = await t.raw(`/v1/users/${user.id}`, {
          method: 'PATCH',
          headers: as(admin, { 'content-type': 'application/merge-patch+json' }),
          body: JSON.stringify({ displayName: `Busy ${n}` }),
        })
        statuses.push(res.status)
        if (res.status === 404) return
      }
    })()
    while (statuses.length < 3) await Bun.sleep(5)
    expect((await erase(user.id)).status).toBe(204)
    await renaming
    stop = true
    expect(statuses.at(-1)).toBe(404)
    expect(statuses.filter((status) => status !== 200 && status !== 404 && status !== 503)).toEqual([])
    const tombstone = await t.collection.findOne({ _id: new ObjectId(user.id) })
    expect(JSON.stringify(tombstone)).not.toContain('Busy')
  })

  it('race: five erases of one user at once have exactly one 204, the rest 404', async () => {
    const user = await create()
    const statuses = (await Promise.all(Array.from({ length: 5 }, () => erase(user.id)))).map((res) => res.status)
    expect(statuses.sort()).toEqual([204, 404, 404, 404, 404])
  })

  it('with USER_RETENTION_DAYS=0 leaves a tombstone of ids until its events are relayed, then deletes it', async () => {
    const now = await useTestApp({
      name: 'users_erase_retention_0',
      deps: {
        config: testConfig({ userRetentionDays: 0 }),
        authenticator: createAuthenticator({ apiKeys: [admin.entry], jwt: undefined }),
      },
    })
    const res = await now.raw('/v1/users', {
      method: 'POST',
      headers: as(admin, { 'content-type': 'application/json' }),
      body: JSON.stringify(newUser()),
    })
    const { id } = (await res.json()) as User
    expect((await now.raw(`/v1/users/${id}/erase`, { method: 'POST', headers: as(admin) })).status).toBe(204)
    const tombstone = await now.collection.findOne({ _id: new ObjectId(id) })
    expect(Object.keys(tombstone ?? {}).sort()).toEqual([...ERASED_FIELDS].sort())
    const relay = await startRelay(now)
    await relay.drain()
    await relay.stop()
    await now.users.purge()
    expect(await now.collection.countDocuments({})).toBe(0)
  })
})

describe('an erase that lands while the create it follows is still keeping its Idempotency-Key answer', () => {
  /**
   * A keyed create whose answer is kept while the user is erased by someone who learned its id
   * early (the feed, a list): `during` runs inside the store's `complete`, before the record is
   * written. Returns what the records hold once both answered.
   */
  async function race(name: string, during: (app: Awaited<ReturnType<typeof useTestApp>>, id: string) => Promise<void>) {
    const client = new MongoClient(globalThis.testMongoUri)
    const records = client.db(`${name}_${randomBytes(4).toString('hex')}`)
    const real = createIdempotencyStore(attachDatabase(records))
    await real.ensureIndexes()
    let app: Awaited<ReturnType<typeof useTestApp>> | undefined
    const idempotency: IdempotencyStore = {
      ...real,
      forgetUser: (userId) => hooks.forgetUser(userId),
      async complete(scope, key, owner, response, userId) {
        if (app && userId) await during(app, userId)
        return real.complete(scope, key, owner, response, userId)
      },
    }
    const hooks = { forgetUser: (userId: string) => real.forgetUser(userId) }
    app = await useTestApp({
      name,
      deps: { idempotency, authenticator: createAuthenticator({ apiKeys: [admin.entry], jwt: undefined }) },
    })
    const email = `raced.${randomBytes(4).toString('hex')}@example.com`
    const send = () =>
      app!.raw('/v1/users', {
        method: 'POST',
        headers: as(admin, { 'content-type': 'application/json', 'idempotency-key': 'raced-key' }),
        body: JSON.stringify(newUser({ email })),
      })
    return {
      app,
      hooks,
      email,
      send,
      records: () => records.collection('idempotency_keys').find({}).toArray(),
      done: async () => {
        await records.dropDatabase()
        await client.close()
      },
    }
  }

  it("forgets the record written after the erase's tombstone: the create reads the user again", async () => {
    let erased: number | undefined
    const w = await race('users_erase_race_after', async (app, id) => {
      erased = (await app.raw(`/v1/users/${id}/erase`, { method: 'POST', headers: as(admin) })).status
    })
    try {
      expect((await w.send()).status).toBe(201)
      expect(erased).toBe(204)
      const kept = await w.records()
      expect(kept).toHaveLength(1)
      expect(kept[0]).not.toHaveProperty('response')
      expect(BSON.EJSON.stringify(kept)).not.toContain(w.email)
      // The key stays taken: a retry is refused rather than creating the erased user again.
      await expectProblem(await w.send(), 422, 'idempotency_key_reused')
    } finally {
      await w.done()
    }
  })

  it("forgets the record written between the erase's first forget and its tombstone: the erase forgets again", async () => {
    let erasing: Promise<Response> | Response | undefined
    const { promise: forgot, resolve: forgotten } = Promise.withResolvers<void>()
    const { promise: gate, resolve: open } = Promise.withResolvers<void>()
    const w = await race('users_erase_race_between', async (app, id) => {
      erasing = app.raw(`/v1/users/${id}/erase`, { method: 'POST', headers: as(admin) })
      await forgot
    })
    // The erase's first forget runs, then holds until the create has kept its answer and looked again.
    const forget = w.hooks.forgetUser
    let calls = 0
    w.hooks.forgetUser = async (userId) => {
      await forget(userId)
      if (++calls === 1) {
        forgotten()
        await gate
      }
    }
    try {
      expect((await w.send()).status).toBe(201)
      open()
      expect((await erasing)?.status).toBe(204)
      const kept = await w.records()
      expect(kept).toHaveLength(1)
      expect(BSON.EJSON.stringify(kept)).not.toContain(w.email)
    } finally {
      await w.done()
    }
  })
})

describe('an erase with If-Match and a change landing while it runs', () => {
  /** An app whose idempotency store runs `during` (once) when an erase tells it to forget a user. */
  async function appChangingDuringForget(
    name: string,
    during: (app: Awaited<ReturnType<typeof useTestApp>>, id: string) => Promise<void>,
  ) {
    const client = new MongoClient(globalThis.testMongoUri)
    const records = client.db(`${name}_${randomBytes(4).toString('hex')}`)
    const real = createIdempotencyStore(attachDatabase(records))
    await real.ensureIndexes()
    let app: Awaited<ReturnType<typeof useTestApp>> | undefined
    let pending = true
    const idempotency: IdempotencyStore = {
      ...real,
      async forgetUser(userId) {
        if (pending && app) {
          pending = false
          await during(app, userId)
        }
        return real.forgetUser(userId)
      },
    }
    app = await useTestApp({
      name,
      deps: { idempotency, authenticator: createAuthenticator({ apiKeys: [admin.entry], jwt: undefined }) },
    })
    return { app, done: () => records.dropDatabase().then(() => client.close()) }
  }

  it('never erases a version If-Match did not name, and a refused erase scrubs nothing', async () => {
    // A change racing the erase: before the fix, one landing while the other stores forgot was
    // erased over (If-Match "1" erased the user at version 2), and a 412 after the race had
    // already blanked its events' data.
    let changed = 0
    let refusal = ''
    const { app, done } = await appChangingDuringForget('erase_if_match_race', async (inner, id) => {
      const res = await inner.raw(`/v1/users/${id}`, {
        method: 'PATCH',
        headers: as(admin, { 'content-type': 'application/merge-patch+json' }),
        body: JSON.stringify({ displayName: 'Changed meanwhile' }),
      })
      changed = res.status
      if (res.status !== 200) refusal = ((await res.json()) as { detail: string }).detail
    })
    try {
      const relay = await startRelay(app, { loop: false })
      const res = await app.raw('/v1/users', {
        method: 'POST',
        headers: as(admin, { 'content-type': 'application/json' }),
        body: JSON.stringify(newUser({ displayName: 'Before' })),
      })
      const user = (await res.json()) as User
      await relay.drain()
      const answer = await app.raw(`/v1/users/${user.id}/erase`, { method: 'POST', headers: as(admin, { 'If-Match': '"1"' }) })
      // The change either waited for the erase's hold (and was refused: 503, erased after) or came first (412).
      if (changed === 200) {
        await expectProblem(answer, 412, 'precondition_failed')
        expect(answer.headers.get('etag')).toBe('"2"')
        const stored = (await (await app.raw(`/v1/users/${user.id}`, { headers: as(admin) })).json()) as User
        expect(stored).toMatchObject({ version: 2, displayName: 'Changed meanwhile' })
        await relay.drain()
        const events = await app.db.collection('events').find({ userId: user.id }).sort({ sequence: 1 }).toArray()
        expect(events.map((event) => (event.data as { user?: { displayName?: string } }).user?.displayName)).toEqual([
          'Before',
          'Changed meanwhile',
        ])
      } else {
        // Held off by the erase: refused at once, saying why (not 50 rounds of a busy user).
        expect({ changed, refusal }).toEqual({
          changed: 503,
          refusal: 'This user is being erased; retry shortly (it will then be gone).',
        })
        expect(answer.status).toBe(204)
        expect((await app.raw(`/v1/users/${user.id}`, { headers: as(admin) })).status).toBe(404)
      }
    } finally {
      await done()
    }
  })
})
