import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { type CommandStartedEvent, type Document, MongoClient, ObjectId } from 'mongodb'
import { createFailedAttempts } from '../src/credentials/failed-attempts.repository'
import { attachDatabase } from '../src/db/calls'
import { createEventsRepository } from '../src/events/events.repository'
import { createIdempotencyStore } from '../src/idempotency/idempotency.repository'
import { createUsersRepository } from '../src/users/users.repository'
import reference from './fixtures/reference-hashes.json'
import { newUser, useTestApp } from './helpers/context'

/**
 * What each request costs the database, counted by the driver's own command monitoring: the
 * service's repository runs on a client with `monitorCommands`, and every command it sends during
 * one request is recorded. A read or a plain update is exactly one round trip; the few paths that
 * need two say why in the repository.
 */
const client = new MongoClient(globalThis.testMongoUri, { monitorCommands: true })
await client.connect()
const monitored = client.db(`test_round_trips_${crypto.randomUUID().slice(0, 8)}`)
// Every store the app writes, on the monitored client: the erase's scrubbing writes count too.
const handle = attachDatabase(monitored)
const users = createUsersRepository(handle)
const idempotency = createIdempotencyStore(handle)
const failedAttempts = createFailedAttempts(handle, { windowSeconds: 900 })
const events = createEventsRepository(handle)
await Promise.all([users.ensureIndexes(), idempotency.ensureIndexes(), failedAttempts.ensureIndexes(), events.ensureIndexes()])
const t = await useTestApp({ name: 'round_trips', deps: { users, idempotency, failedAttempts, events } })

const BCRYPT = reference.hashes.find((entry) => entry.name === 'bcrypt $2a$ cost 4')!

const sent: CommandStartedEvent[] = []
client.on('commandStarted', (event) => sent.push(event))

afterAll(async () => {
  await monitored.dropDatabase()
  await client.close()
})

/** Runs one request and returns its response with the commands it sent to the database. */
async function commandsOf(path: string, init?: RequestInit) {
  sent.length = 0
  const res = await t.raw(path, init)
  await res.arrayBuffer()
  return {
    status: res.status,
    etag: res.headers.get('etag'),
    commands: sent.map((event) => event.commandName),
    /** Each command with the collection it went to: `update users`. */
    targets: sent.map((event) => `${event.commandName} ${event.command[event.commandName]}`),
    /** The commands themselves, to see what a write carries. */
    sent: sent.map((event) => event.command),
  }
}

const post = (path: string, headers: Record<string, string> = {}) => commandsOf(path, { method: 'POST', headers })

const patch = (body: object, headers: Record<string, string> = {}): RequestInit => ({
  method: 'PATCH',
  headers: { 'content-type': 'application/merge-patch+json', ...headers },
  body: JSON.stringify(body),
})

describe('database round trips per request', () => {
  let user: { id: string; username: string; email: string; version: number }
  beforeAll(async () => {
    user = await t.createUser({ displayName: 'First' })
  })

  it('POST /v1/users sends one insert', async () => {
    const { status, commands } = await commandsOf('/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(newUser()),
    })
    expect(status).toBe(201)
    expect(commands).toEqual(['insert'])
  })

  it('POST /v1/users with an Idempotency-Key claims the key, inserts, keeps the answer, and reads the user once more', async () => {
    const { status, targets } = await commandsOf('/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `round-trip-${crypto.randomUUID()}` },
      body: JSON.stringify(newUser()),
    })
    expect(status).toBe(201)
    // The last read: an erase that landed while the answer was kept (forgettingGoneUsers).
    expect(targets).toEqual(['insert idempotency_keys', 'insert users', 'update idempotency_keys', 'find users'])
  })

  it.each([
    ['by id', () => `/v1/users/${user.id}`],
    ['by username', () => `/v1/users/by-username/${user.username.toUpperCase()}`],
    ['by email', () => `/v1/users/by-email/${encodeURIComponent(user.email)}`],
    ['a list page', () => '/v1/users?limit=5&role=user'],
  ])('GET %s sends one find, which leaves the outbox on the server', async (_, path) => {
    const { status, commands, sent } = await commandsOf(path())
    expect(status).toBe(200)
    expect(commands).toEqual(['find'])
    // eventBase and pendingEvents are the relay's: a copy of the user and its unpublished events.
    expect(sent[0]?.projection).toEqual({ eventBase: 0, pendingEvents: 0 })
  })

  it('GET with a matching If-None-Match sends one find for its 304', async () => {
    const { etag } = await commandsOf(`/v1/users/${user.id}`)
    const { status, commands } = await commandsOf(`/v1/users/${user.id}`, { headers: { 'if-none-match': etag ?? '' } })
    expect(status).toBe(304)
    expect(commands).toEqual(['find'])
  })

  it('PATCH of plain fields sends one findAndModify, with or without If-Match', async () => {
    const version = (await users.findById(user.id))!.version
    const guarded = await commandsOf(`/v1/users/${user.id}`, patch({ displayName: 'Second' }, { 'if-match': `"${version}"` }))
    expect(guarded).toMatchObject({ status: 200, etag: `"${version + 1}"`, commands: ['findAndModify'] })
    const unguarded = await commandsOf(`/v1/users/${user.id}`, patch({ displayName: null, role: 'moderator' }))
    expect(unguarded).toMatchObject({ status: 200, etag: `"${version + 2}"`, commands: ['findAndModify'] })
  })

  it('PATCH that changes nothing or meets a stale If-Match reads once more to say which', async () => {
    const fresh = await t.createUser({ displayName: 'Same' })
    const unchanged = await commandsOf(`/v1/users/${fresh.id}`, patch({ displayName: 'Same' }))
    expect(unchanged).toMatchObject({ status: 200, etag: '"1"', commands: ['findAndModify', 'find'] })
    const stale = await commandsOf(`/v1/users/${fresh.id}`, patch({ displayName: 'Other' }, { 'if-match': '"7"' }))
    expect(stale).toMatchObject({ status: 412, etag: '"1"', commands: ['findAndModify', 'find'] })
  })

  it('PATCH of metadata reads then writes: the merge and its size limit need the stored value', async () => {
    const { status, commands } = await commandsOf(`/v1/users/${user.id}`, patch({ metadata: { plan: 'pro' } }))
    expect(status).toBe(200)
    expect(commands).toEqual(['find', 'findAndModify'])
  })

  it('GET a list filtered by status sends one find, the expiry of disables included; with its total, one count more', async () => {
    const page = await commandsOf('/v1/users?limit=5&status=active')
    expect(page).toMatchObject({ status: 200, commands: ['find'] })
    const counted = await commandsOf('/v1/users?limit=5&status=disabled&includeTotal=true')
    expect(counted.status).toBe(200)
    expect(counted.commands.sort()).toEqual(['aggregate', 'find'])
  })

  it('PATCH of a status alone sends one findAndModify; a new email without emailVerified reads first', async () => {
    const fresh = await t.createUser()
    const status = await commandsOf(`/v1/users/${fresh.id}`, patch({ status: 'disabled' }))
    expect(status).toMatchObject({ status: 200, commands: ['findAndModify'] })
    // Whether emailVerified resets depends on the stored address (a change of case keeps it).
    const email = await commandsOf(`/v1/users/${fresh.id}`, patch({ email: `new-${fresh.email}` }))
    expect(email).toMatchObject({ status: 200, commands: ['find', 'findAndModify'] })
    const both = await commandsOf(`/v1/users/${fresh.id}`, patch({ email: `again-${fresh.email}`, emailVerified: true }))
    expect(both).toMatchObject({ status: 200, commands: ['findAndModify'] })
  })

  it('POST /v1/auth/verify sends one find and one update (lastSignInAt), the hash upgrade of an import in the same update', async () => {
    const verify = (login: string, password: string) =>
      commandsOf('/v1/auth/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login, password }),
      })
    // On the users collection (the failed-attempt counters are the other commands: their cost is
    // the limits', tests/verify.lockout.test.ts).
    const onUsers = async (login: string, password: string) => {
      const { status, targets } = await verify(login, password)
      return { status, commands: targets.filter((target) => target.endsWith(' users')).map((target) => target.split(' ')[0]) }
    }
    const own = await t.createUser({ password: 'the right password' })
    expect(await onUsers(own.username, 'the right password')).toEqual({ status: 200, commands: ['find', 'update'] })
    expect(await onUsers(own.email, 'a wrong password')).toEqual({ status: 401, commands: ['find'] })
    const imported = await t.createUser({ passwordHash: BCRYPT.hash })
    expect(await onUsers(imported.username, BCRYPT.password)).toEqual({ status: 200, commands: ['find', 'update'] })
    expect((await users.findById(imported.id))?.version).toBe(1)
  })

  it('DELETE sends one update, also with If-Match: the soft delete releases the keys in the same write', async () => {
    const doomed = await t.createUser()
    const { status, commands } = await commandsOf(`/v1/users/${doomed.id}`, { method: 'DELETE', headers: { 'if-match': '"1"' } })
    expect(status).toBe(204)
    expect(commands).toEqual(['update'])
    const unguarded = await t.createUser()
    expect(await commandsOf(`/v1/users/${unguarded.id}`, { method: 'DELETE' })).toMatchObject({
      status: 204,
      commands: ['update'],
    })
  })
})

describe('database round trips with change events (the outbox in the same write)', () => {
  it('POST /v1/users carries its user.created event in its one insert', async () => {
    const {
      status,
      commands,
      sent: [insert],
    } = await commandsOf('/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(newUser()),
    })
    expect(status).toBe(201)
    expect(commands).toEqual(['insert'])
    expect(insert?.documents[0]).toMatchObject({ pendingEvents: [{ type: 'user.created' }], eventBase: { version: 0 } })
  })

  it('PATCH of plain fields pushes its event in its one findAndModify, guarded by the outbox', async () => {
    const user = await t.createUser()
    const {
      status,
      commands,
      sent: [write],
    } = await commandsOf(`/v1/users/${user.id}`, patch({ displayName: 'Evented' }))
    expect(status).toBe(200)
    expect(commands).toEqual(['findAndModify'])
    expect(write?.update.$push.pendingEvents).toMatchObject({ type: 'user.updated', set: { displayName: 'Evented' } })
    expect(write?.query).toMatchObject({ eventBase: { $exists: true }, 'pendingEvents.99': { $exists: false } })
  })

  it('DELETE and restore push their events in their one write each', async () => {
    const user = await t.createUser()
    const deleted = await commandsOf(`/v1/users/${user.id}`, { method: 'DELETE' })
    expect(deleted.commands).toEqual(['update'])
    expect(deleted.sent[0]?.updates[0].u.$push.pendingEvents).toMatchObject({ type: 'user.deleted' })
    const restored = await post(`/v1/users/${user.id}/restore`)
    expect(restored.commands).toEqual(['find', 'findAndModify'])
    expect(restored.sent[1]?.update.$push.pendingEvents).toMatchObject({ type: 'user.restored' })
  })

  it('a user stored before events existed takes the read-then-write path once, then the one-write PATCH', async () => {
    const user = await t.createUser({ displayName: 'Before' })
    // As an older version of the service stored it: no outbox at all.
    await monitored
      .collection('users')
      .updateOne({ _id: new ObjectId(user.id) }, { $unset: { eventBase: '', pendingEvents: '', outboxSince: '' } })
    const first = await commandsOf(`/v1/users/${user.id}`, patch({ displayName: 'Adopted' }))
    // The one write misses (no base), the read, the write at its version misses too, the read
    // that says why, the base recorded (not a change), the write again.
    expect(first).toMatchObject({ status: 200, etag: '"2"' })
    expect(first.commands).toEqual(['findAndModify', 'find', 'findAndModify', 'find', 'update', 'findAndModify'])
    const second = await commandsOf(`/v1/users/${user.id}`, patch({ displayName: 'Again' }))
    expect(second).toMatchObject({ status: 200, etag: '"3"', commands: ['findAndModify'] })
    const stored = await monitored.collection('users').findOne({ _id: new ObjectId(user.id) })
    expect(stored?.eventBase).toMatchObject({ version: 1, user: { displayName: 'Before', version: 1 } })
    expect(stored?.pendingEvents.map((event: { type: string }) => event.type)).toEqual(['user.updated', 'user.updated'])
  })

  it('a sign-in records lastSignInAt and upgrades the hash without touching the outbox', async () => {
    const user = await t.createUser({ passwordHash: BCRYPT.hash })
    const verified = await commandsOf('/v1/auth/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: user.username, password: BCRYPT.password }),
    })
    expect(verified.status).toBe(200)
    const update = verified.sent.find((command) => command.update === 'users')
    expect(update?.updates[0].u.$set).toMatchObject({ lastSignInAt: expect.any(Date), passwordHash: expect.any(String) })
    expect(JSON.stringify(update?.updates[0].u)).not.toContain('pendingEvents')
    const stored = await monitored.collection('users').findOne({ _id: new ObjectId(user.id) })
    expect(stored?.pendingEvents).toHaveLength(1)
    expect(stored?.version).toBe(1)
  })
})

describe('database round trips of the lifecycle', () => {
  it('a deleted user costs reads nothing more: one find for its 404, by id, username and email', async () => {
    const gone = await t.createUser()
    await commandsOf(`/v1/users/${gone.id}`, { method: 'DELETE' })
    for (const path of [
      `/v1/users/${gone.id}`,
      `/v1/users/by-username/${gone.username}`,
      `/v1/users/by-email/${encodeURIComponent(gone.email)}`,
    ]) {
      expect(await commandsOf(path)).toMatchObject({ status: 404, commands: ['find'] })
    }
  })

  it('GET includeDeleted=true and GET deleted=true send one find each, which leaves the outbox on the server', async () => {
    const gone = await t.createUser()
    await commandsOf(`/v1/users/${gone.id}`, { method: 'DELETE' })
    const withDeleted = await commandsOf(`/v1/users/${gone.id}?includeDeleted=true`)
    expect(withDeleted).toMatchObject({ status: 200, commands: ['find'] })
    expect(withDeleted.sent[0]?.projection).toEqual({ eventBase: 0, pendingEvents: 0 })
    expect(await commandsOf('/v1/users?deleted=true&limit=5')).toMatchObject({ status: 200, commands: ['find'] })
  })

  it('POST restore reads the deleted user once and writes once (findAndModify), also with If-Match', async () => {
    const back = await t.createUser()
    await commandsOf(`/v1/users/${back.id}`, { method: 'DELETE' })
    const restored = await post(`/v1/users/${back.id}/restore`, { 'if-match': '"2"' })
    expect(restored).toMatchObject({ status: 200, etag: '"3"', commands: ['find', 'findAndModify'] })
  })

  it('POST erase reads the user, holds changes off (reading its outbox), scrubs each other collection, replaces it, scrubs the events again', async () => {
    const doomed = await t.createUser()
    const erased = await post(`/v1/users/${doomed.id}/erase`)
    expect(erased.status).toBe(204)
    // The read, then the hold, which returns the document as held (If-Match is checked on it, and
    // its pending events stay, ids only): nothing is scrubbed before it.
    expect(erased.targets.slice(0, 2)).toEqual(['find users', 'findAndModify users'])
    expect(erased.targets.slice(2, 5).sort()).toEqual(['delete auth_failures', 'update events', 'update idempotency_keys'])
    // The tombstone, then the events and idempotency records once more (a relay batch may have
    // inserted events it built before the erase; a keyed create may have kept its answer meanwhile).
    expect(erased.targets[5]).toBe('update users')
    expect(erased.targets.slice(6).sort()).toEqual(['update events', 'update idempotency_keys'])
  })
})

describe('database round trips of /scim/v2', () => {
  const scim = (method: string, path: string, body?: unknown) =>
    commandsOf(`/scim/v2${path}`, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/scim+json' }, body: JSON.stringify(body) } : {}),
    })
  const scimUser = () => {
    const { username, email } = newUser()
    return {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: username,
      emails: [{ value: email, primary: true }],
    }
  }
  const replace = (path: string, value: unknown) => ({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path, value }],
  })

  it('a userName eq lookup is one find, an equality on the unique usernameKey (an index scan on MongoDB)', async () => {
    const user = await t.createUser()
    const filter = encodeURIComponent(`userName eq "${user.username.toUpperCase()}"`)
    sent.length = 0
    const res = await t.raw(`/scim/v2/Users?filter=${filter}&startIndex=1&count=100`)
    expect(((await res.json()) as { totalResults: number }).totalResults).toBe(1)
    expect(sent.map((event) => event.commandName)).toEqual(['find'])
    const find = sent[0]!.command
    expect(find.filter).toEqual({ usernameKey: user.username.toLowerCase(), deletedAt: { $exists: false } })
    const index = (await monitored.collection('users').indexes()).find((spec) => spec.name === 'usernameKey_unique')
    expect(index).toMatchObject({ key: { usernameKey: 1 }, unique: true })
    // MongoDB answers with a stage tree naming the index; FerretDB (SQLite) plans with its own words.
    const plan = JSON.stringify((await monitored.command({ explain: { find: 'users', filter: find.filter } })).queryPlanner)
    if (plan.includes('"stage"')) expect(plan).toContain('"indexName":"usernameKey_unique"')
  })

  it('an externalId eq lookup is one find on the unique externalIdKey', async () => {
    const user = await t.createUser({ externalId: `ext-${crypto.randomUUID()}` })
    const { status, commands } = await scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${user.externalId}"`)}`)
    expect({ status, commands }).toEqual({ status: 200, commands: ['find'] })
    expect(sent[0]!.command.filter).toEqual({ externalIdKey: user.externalId, deletedAt: { $exists: false } })
  })

  it('a full page also counts the total: one find and one count', async () => {
    await Promise.all([t.createUser(), t.createUser()])
    const { status, commands } = await scim('GET', '/Users?count=1')
    expect(status).toBe(200)
    expect(commands).toEqual(['find', 'aggregate'])
  })

  it('POST /scim/v2/Users sends one insert; GET by id one find; DELETE one update', async () => {
    sent.length = 0
    const res = await t.raw('/scim/v2/Users', {
      method: 'POST',
      headers: { 'content-type': 'application/scim+json' },
      body: JSON.stringify(scimUser()),
    })
    const { id } = (await res.json()) as { id: string }
    expect({ status: res.status, commands: sent.map((event) => event.commandName) }).toEqual({
      status: 201,
      commands: ['insert'],
    })
    expect(await scim('GET', `/Users/${id}`)).toMatchObject({ status: 200, commands: ['find'] })
    expect(await scim('DELETE', `/Users/${id}`)).toMatchObject({ status: 204, commands: ['update'] })
  })

  it('PATCH reads the user once and writes once (the write guarded by the version read)', async () => {
    const user = await t.createUser()
    const patched = await scim('PATCH', `/Users/${user.id}`, replace('displayName', 'Patched'))
    expect(patched).toMatchObject({ status: 200, etag: 'W/"2"', commands: ['find', 'findAndModify'] })
    expect(sent[1]!.command.query).toMatchObject({ version: { $in: [1] } })
    // A new address: the service reads once more, to decide whether emailVerified resets (as on /v1).
    const email = await scim('PATCH', `/Users/${user.id}`, replace('emails[type eq "work"].value', `new-${user.email}`))
    expect(email).toMatchObject({ status: 200, commands: ['find', 'find', 'findAndModify'] })
    // Operations that change nothing stored write nothing.
    expect(await scim('PATCH', `/Users/${user.id}`, replace('title', 'ignored'))).toMatchObject({
      status: 200,
      commands: ['find'],
    })
  })
})

describe('GET /v1/users keyset pages', () => {
  const PAGE = 25
  beforeAll(async () => {
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 20 }, () => t.createUser()))
    }
  })

  /** Walks `pages` pages and returns the find command of the first and of the last one. */
  async function firstAndDeepFind(query: string, pages: number) {
    const finds: Document[] = []
    let cursor: string | null = null
    for (let i = 0; i < pages; i++) {
      sent.length = 0
      const suffix: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
      const res = await t.raw(`/v1/users?limit=${PAGE}&${query}${suffix}`)
      expect(res.status).toBe(200)
      const body = (await res.json()) as { nextCursor: string | null }
      expect(sent.map((event) => event.commandName)).toEqual(['find'])
      finds.push(sent[0]!.command)
      cursor = body.nextCursor
      expect(cursor).not.toBeNull()
    }
    return { first: finds[0]!, deep: finds.at(-1)! }
  }

  it('asks for a deep page with the same filter and sort as page one plus a range, never skip', async () => {
    const { first, deep } = await firstAndDeepFind('sort=-createdAt', 7)
    const live = { deletedAt: { $exists: false } }
    expect(first.filter).toEqual(live)
    expect(deep.filter).toEqual({
      $and: [
        live,
        {
          // The sort key's bound beside the tie-break's $or: where MongoDB's index scan starts.
          createdAt: { $lte: expect.any(Date) },
          $or: [{ createdAt: { $lt: expect.any(Date) } }, { createdAt: expect.any(Date), _id: { $lt: expect.anything() } }],
        },
      ],
    })
    for (const find of [first, deep]) {
      expect([...find.sort]).toEqual([
        ['createdAt', -1],
        ['_id', -1],
      ])
      expect(find.limit).toBe(PAGE + 1)
      expect(find.skip).toBeUndefined()
    }
  })

  it('keeps the filters and uses a range on the unique key when sorted by username', async () => {
    const { first, deep } = await firstAndDeepFind('sort=username&status=active&q=user', 4)
    // status=active is the status now: stored active, or disabled until a time that has passed.
    const filter = {
      deletedAt: { $exists: false },
      $or: [{ usernameKey: /^user/ }, { emailKey: /^user/ }],
      $and: [{ $or: [{ status: 'active' }, { status: 'disabled', disabledUntil: { $lte: expect.any(Date) } }] }],
    }
    expect(first.filter).toEqual(filter)
    expect(deep.filter).toEqual({ $and: [filter, { usernameKey: { $gt: expect.any(String) } }] })
    for (const find of [first, deep]) {
      expect([...find.sort]).toEqual([['usernameKey', 1]])
      expect(find.skip).toBeUndefined()
    }
  })

  it('explains a deep page with the same plan as page one: no skip stage, same sort and limit', async () => {
    const { first, deep } = await firstAndDeepFind('sort=-createdAt', 7)
    const explain = (find: Document) =>
      monitored.command({ explain: { find: 'users', filter: find.filter, sort: find.sort, limit: find.limit } })
    const [one, far] = await Promise.all([explain(first), explain(deep)])
    // MongoDB answers with a stage tree (winningPlan: LIMIT, FETCH, IXSCAN…); FerretDB with SQLite's
    // plan lines. Either way the deep page's plan has the same shape as page one's.
    expect(planShape(one.queryPlanner)).not.toEqual([])
    expect(planShape(far.queryPlanner)).toEqual(planShape(one.queryPlanner))
    expect(JSON.stringify(far.queryPlanner)).not.toContain('SKIP')
    expect(far.command).toMatchObject({ sort: one.command.sort, limit: PAGE + 1 })
    expect(far.command.skip).toBeUndefined()
  })
})

/** The stage names of an explain plan, or FerretDB's plan lines without their node ids. */
function planShape(plan: unknown): string[] {
  if (Array.isArray(plan)) return plan.flatMap(planShape)
  if (typeof plan === 'string') return [plan.replace(/id=\d+ parent=\d+ /, '')]
  if (!plan || typeof plan !== 'object') return []
  const node = plan as Record<string, unknown>
  if (typeof node.stage === 'string') {
    return [node.stage, ...planShape(node.inputStage), ...planShape(node.inputStages)]
  }
  return [...planShape(node.winningPlan), ...planShape(node.Plan)]
}
