import { afterAll, describe, expect, it } from 'bun:test'
import { isDeepStrictEqual } from 'node:util'
import { ObjectId } from 'mongodb'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import { reachesStored, replay } from '../src/events/events.replay'
import type { EventList } from '../src/events/events.schemas'
import { createBunPasswordHasher } from '../src/users/passwords.bun'
import { createUsersService, type UpdateInput } from '../src/users/users.service'
import { useTestApp } from './helpers/context'
import { startRelay } from './helpers/events'
import { startServer } from './helpers/process'
import { apiKey, ENTERPRISE_USER, scimClient } from './helpers/scim'

/**
 * Every write, through every surface, reaches the feed (issue 16: "no change without its event").
 * The relay's self-check (`reachesStored`) holds back for good the events of a user whose replayed
 * outbox does not reach the stored user; a SCIM `remove` of `password` once did that (fixed in
 * 5c3fb94; these tests fail on the code before it). After each sequence: the outbox as stored is
 * replayed here (an oracle independent of the relay's timing), the relay is drained, and the feed
 * must hold exactly versions 1..stored version, with no "held back" log line for the user. Written
 * as a bug hunt after a black-box review; kept as the regression suite for the replay.
 */

const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])
const writer = apiKey('writer', ['users:read', 'users:write'])
const scimKey = apiKey('identity-provider', ['scim'])
const reader = apiKey('events-reader', ['events:read'])
const authenticator = createAuthenticator({
  apiKeys: [admin.entry, writer.entry, scimKey.entry, reader.entry],
  jwt: undefined,
})

/** The app's clock: real time plus an offset the tests move (a disable runs out without waiting). */
let offsetMs = 0
const clock = () => new Date(Date.now() + offsetMs)

/** An app with its relay and a SCIM client, keeping deleted users `userRetentionDays`. */
async function appKeeping(name: string, userRetentionDays: number) {
  const app = await useTestApp({
    name,
    clock,
    deps: { authenticator, config: testConfig({ legacyRoutes: true, userRetentionDays }) },
  })
  return { app, relay: await startRelay(app), scim: scimClient(app.raw, scimKey.key) }
}

const { app: t, relay, scim } = await appKeeping('events_replay_surfaces', 30)
/** USER_RETENTION_DAYS=0: a delete is for good (purged once its events are relayed). */
const { app: t0, relay: relay0, scim: scim0 } = await appKeeping('events_replay_surfaces_0', 0)

type App = typeof t
type Relay = typeof relay
const relayOf = (app: App): Relay => (app === t0 ? relay0 : relay)

// ---------------------------------------------------------------------------------------------
// Requests

type Body = Record<string, unknown>

async function v1(
  app: App,
  method: string,
  path: string,
  body?: unknown,
  key = admin.key,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: Body | null }> {
  const contentType = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'
  const res = await app.raw(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': contentType } : {}), ...extra },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as Body) }
}

const createV1 = async (app: App, body: Body, key = admin.key) => {
  const res = await v1(app, 'POST', '/v1/users', body, key)
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body as Body & { id: string; username: string; email: string; version: number }
}
const patchV1 = (app: App, id: string, body: Body, key = admin.key) => v1(app, 'PATCH', `/v1/users/${id}`, body, key)
const deleteV1 = (app: App, id: string, key = admin.key) => v1(app, 'DELETE', `/v1/users/${id}`, undefined, key)
const restoreV1 = (app: App, id: string) => v1(app, 'POST', `/v1/users/${id}/restore`)
const eraseV1 = (app: App, id: string) => v1(app, 'POST', `/v1/users/${id}/erase`)
const signIn = (app: App, login: string, password: string) => v1(app, 'POST', '/v1/auth/verify', { login, password }, admin.key)
const legacy = (app: App, method: string, path: string, body?: unknown, key = admin.key) => v1(app, method, path, body, key)

const scimOf = (app: App) => (app === t0 ? scim0 : scim)
async function scimJson(res: Response): Promise<{ status: number; body: Body | null }> {
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as Body) }
}
const scimCreate = async (app: App, body: Body) => {
  const res = await scimJson(await scimOf(app).post('/Users', body))
  if (res.status !== 201) throw new Error(`scim create: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body as Body & { id: string; userName: string }
}
const scimPatch = async (app: App, id: string, ops: unknown[]) => scimJson(await scimOf(app).patch(`/Users/${id}`, ops))
const scimPut = async (app: App, id: string, body: Body) => scimJson(await scimOf(app).put(`/Users/${id}`, body))
const scimDelete = async (app: App, id: string) => scimJson(await scimOf(app).delete(`/Users/${id}`))
const scimLookup = async (app: App, userName: string) =>
  scimJson(await scimOf(app).get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`))

let counter = 0
const unique = (prefix = 'u') => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User'
const scimBody = (overrides: Body = {}) => {
  const n = unique('okta.')
  return {
    schemas: [CORE],
    userName: `${n}@okta.local`,
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: `${n}@okta.local`, type: 'work' }],
    displayName: 'Test User',
    locale: 'en-US',
    externalId: unique('00u'),
    groups: [],
    active: true,
    ...overrides,
  }
}
/** A bcrypt hash an administrator may import (rehashed to argon2id at the first sign-in). */
const BCRYPT_PASSWORD = 'imported password 1'
const bcrypt = await Bun.password.hash(BCRYPT_PASSWORD, { algorithm: 'bcrypt', cost: 4 })
const future = (ms: number) => new Date(clock().getTime() + ms).toISOString()

// ---------------------------------------------------------------------------------------------
// The check

type Diff = Record<string, { replayed: unknown; stored: unknown }>

/** The fields on which `replayed` and `stored` differ. */
function diffOf(replayed: Record<string, unknown> | undefined, stored: Record<string, unknown> | undefined): Diff {
  const diff: Diff = {}
  const keys = new Set([...Object.keys(replayed ?? {}), ...Object.keys(stored ?? {})])
  for (const key of keys) {
    if (!isDeepStrictEqual(replayed?.[key], stored?.[key])) diff[key] = { replayed: replayed?.[key], stored: stored?.[key] }
  }
  return diff
}

/** The stored outbox replayed here: null when it reaches the stored user (or nothing is pending). */
async function replayMismatch(app: App, id: string) {
  const [user] = await app.stores.outbox.read([id])
  if (!user || user.pending.length === 0) return null
  const { final } = replay(user)
  if (reachesStored(user, final)) return null
  return {
    storedVersion: user.version,
    replayedVersion: final.version,
    pending: user.pending.map((event) => ({
      type: event.type,
      set: event.set,
      unset: event.unset,
      passwordChanged: event.passwordChanged,
      passwordRemoved: event.passwordRemoved,
    })),
    diff: user.erased ? {} : diffOf(final.user as Record<string, unknown>, user.current as Record<string, unknown>),
  }
}

/** What the feed and the stored document say of one user after a drain. */
/** Whether a feed as feedOf read it is whole: versions 1..stored, nothing held back, no mismatch. */
function complete(got: Awaited<ReturnType<typeof feedOf>>): boolean {
  const expected = got.storedVersion ?? got.versions.length
  return (
    !got.held &&
    !got.mismatch &&
    isDeepStrictEqual(
      got.versions,
      Array.from({ length: expected }, (_, i) => i + 1),
    )
  )
}

async function feedOf(app: App, id: string) {
  const before = await replayMismatch(app, id)
  await relayOf(app).drain()
  const res = await app.raw(`/v1/events?userId=${id}&limit=500`, { headers: { authorization: `Bearer ${reader.key}` } })
  expect(res.status).toBe(200)
  const versions = ((await res.json()) as EventList).items.map((event) => event.userVersion)
  const doc = await app.collection.findOne({ _id: new ObjectId(id) }, { projection: { version: 1 } })
  const held = relayOf(app).logger.lines.some(
    (line) => line.level === 'error' && (line.object as { userId?: string }).userId === id,
  )
  const after = await replayMismatch(app, id)
  return { versions, storedVersion: doc ? (doc.version as number) : undefined, held, mismatch: before ?? after }
}

/**
 * Every change of `id` reached the feed: versions exactly 1..stored, nothing held back, and the
 * stored outbox (before the drain, and whatever the relay left) replays to the stored user.
 * A purged user (no document) must have its events 1..n without a gap.
 */
async function expectAllEventsReachFeed(app: App, id: string, label = '') {
  const got = await feedOf(app, id)
  const expected = got.storedVersion ?? got.versions.length
  if (got.held || got.mismatch) console.error(`[hunt] ${label} ${id}`, JSON.stringify(got.mismatch, null, 1))
  expect({ label, id, versions: got.versions, held: got.held, mismatch: got.mismatch }).toEqual({
    label,
    id,
    versions: Array.from({ length: expected }, (_, i) => i + 1),
    held: false,
    mismatch: null,
  })
}

const HASHING = { timeout: 60_000 }

// ---------------------------------------------------------------------------------------------
// The check itself

describe('the check', () => {
  it('catches a write that bypasses the outbox (the harness can fail)', async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com` })
    await relay.drain()
    await t.collection.updateOne({ _id: new ObjectId(user.id) }, { $set: { givenName: 'no event' } })
    await patchV1(t, user.id, { displayName: 'with its event' })
    const got = await feedOf(t, user.id)
    expect(got.held).toBe(true)
    expect(got.versions).toEqual([1])
    expect(got.mismatch?.diff).toEqual({ givenName: { replayed: undefined, stored: 'no event' } })
  })
})

// ---------------------------------------------------------------------------------------------
// /v1

describe('/v1 writes reach the feed', () => {
  it('create, plain PATCHes (one-write path), nulls that remove fields', async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com`, displayName: 'A', givenName: 'G' })
    expect((await patchV1(t, user.id, { displayName: 'B' })).status).toBe(200)
    expect((await patchV1(t, user.id, { displayName: null, givenName: null })).status).toBe(200)
    expect((await patchV1(t, user.id, { familyName: 'F', externalId: unique('ext') })).status).toBe(200)
    expect((await patchV1(t, user.id, { externalId: null })).status).toBe(200)
    expect((await patchV1(t, user.id, { emailVerified: true })).status).toBe(200)
    expect((await patchV1(t, user.id, { username: unique('renamed') })).status).toBe(200)
    expect((await patchV1(t, user.id, { role: 'admin' })).status).toBe(200)
    expect((await patchV1(t, user.id, { role: 'user' })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'v1 plain')
  })

  it('metadata merges: nested keys, nulls, null for the whole object', async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com`, metadata: { a: 1, b: { c: 2 } } })
    expect((await patchV1(t, user.id, { metadata: { b: { d: [1, 2] }, e: 'x' } })).status).toBe(200)
    expect((await patchV1(t, user.id, { metadata: { a: null, b: { c: null } } })).status).toBe(200)
    expect((await patchV1(t, user.id, { metadata: { f: 1.5, g: -0, h: 2 ** 40, i: true, j: null } })).status).toBe(200)
    expect((await patchV1(t, user.id, { metadata: null })).status).toBe(200)
    expect((await patchV1(t, user.id, { metadata: { k: { l: { m: { n: 'deep' } } } }, displayName: 'M' })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'v1 metadata')
  })

  it('metadata with -0 and empty objects/arrays', async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com`, metadata: { z: -0, e: {}, a: [] } })
    expect((await patchV1(t, user.id, { metadata: { y: {}, x: [], w: [{}], v: 0 } })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'v1 metadata -0')
  })

  it('metadata with unusual values: NUL, astral characters, extreme numbers', async () => {
    const odd = {
      nul: 'a\u0000b',
      astral: '\u{1F600}',
      big: 1e308,
      tiny: 5e-324,
      unsafe: 2 ** 53 + 2,
      frac: 0.1 + 0.2,
      int32max: 2147483647,
      int32over: 2147483648,
      neg: -2147483649,
      list: [{ a: [1] }, 'x', null, true],
      empty: '',
    }
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com`, metadata: odd })
    expect((await patchV1(t, user.id, { metadata: { more: odd } })).status).toBe(200)
    expect((await patchV1(t, user.id, { displayName: 'after odd metadata' })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'v1 odd metadata')
  })

  it('email change (resets emailVerified), case-only change, email with emailVerified (one write)', async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com`, emailVerified: true })
    expect((await patchV1(t, user.id, { email: `${unique()}@example.com` })).status).toBe(200)
    expect((await patchV1(t, user.id, { emailVerified: true })).status).toBe(200)
    expect((await patchV1(t, user.id, { email: (user.email as string).toUpperCase() })).status).toBe(200)
    expect((await patchV1(t, user.id, { email: `${unique()}@example.com`, emailVerified: true })).status).toBe(200)
    expect((await patchV1(t, user.id, { email: `  ${unique()}@example.com  ` })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'v1 email')
  })

  it('password set, passwordHash import, then sign-ins (lastSignInAt, rehash)', HASHING, async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com`, password: 'first password 1' })
    expect((await patchV1(t, user.id, { password: 'second password 2' })).status).toBe(200)
    expect((await signIn(t, user.username, 'second password 2')).status).toBe(200)
    expect((await patchV1(t, user.id, { passwordHash: bcrypt })).status).toBe(200)
    expect((await signIn(t, user.username, BCRYPT_PASSWORD)).status).toBe(200)
    expect((await signIn(t, user.email, BCRYPT_PASSWORD)).status).toBe(200)
    expect((await patchV1(t, user.id, { displayName: 'after sign-in' })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'v1 password')
  })

  it('status, disable with disabledUntil and disabledReason, re-enable', async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com` })
    expect((await patchV1(t, user.id, { status: 'disabled' })).status).toBe(200)
    expect((await patchV1(t, user.id, { status: 'active' })).status).toBe(200)
    expect(
      (await patchV1(t, user.id, { status: 'disabled', disabledUntil: future(3_600_000), disabledReason: 'review' })).status,
    ).toBe(200)
    expect((await patchV1(t, user.id, { disabledReason: 'other' })).status).toBe(200)
    expect((await patchV1(t, user.id, { disabledUntil: null })).status).toBe(200)
    expect((await patchV1(t, user.id, { disabledUntil: '2099-01-01T00:00:00Z' })).status).toBe(200)
    expect((await patchV1(t, user.id, { disabledReason: null })).status).toBe(200)
    expect((await patchV1(t, user.id, { status: 'active' })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'v1 status')
  })

  it('created disabled with details, then a disable that runs out, then changes', async () => {
    const user = await createV1(t, {
      username: unique(),
      email: `${unique()}@example.com`,
      status: 'disabled',
      disabledUntil: future(60_000),
      disabledReason: 'created disabled',
    })
    offsetMs += 120_000
    expect((await patchV1(t, user.id, { displayName: 'after lapse' })).status).toBe(200)
    expect((await patchV1(t, user.id, { status: 'active' })).status).toBe(200)
    expect((await patchV1(t, user.id, { status: 'disabled' })).status).toBe(200)
    expect((await patchV1(t, user.id, { status: 'disabled', disabledUntil: future(60_000), disabledReason: 'x' })).status).toBe(
      200,
    )
    offsetMs += 120_000
    expect((await patchV1(t, user.id, { status: 'disabled', disabledReason: 'y' })).status).toBe(200)
    expect((await patchV1(t, user.id, { metadata: { lapsed: true } })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'v1 lapse')
  })

  it('a disable that runs out, then a metadata merge (read-then-write path)', async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com` })
    expect((await patchV1(t, user.id, { status: 'disabled', disabledUntil: future(60_000), disabledReason: 'r' })).status).toBe(
      200,
    )
    offsetMs += 120_000
    expect((await patchV1(t, user.id, { metadata: { a: 1 } })).status).toBe(200)
    expect((await patchV1(t, user.id, { email: `${unique()}@example.com` })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'v1 lapse merge')
  })

  it('delete, restore, delete, erase', async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com`, externalId: unique('ext') })
    expect((await deleteV1(t, user.id)).status).toBe(204)
    expect((await restoreV1(t, user.id)).status).toBe(200)
    expect((await patchV1(t, user.id, { displayName: 'restored' })).status).toBe(200)
    expect((await deleteV1(t, user.id)).status).toBe(204)
    await expectAllEventsReachFeed(t, user.id, 'v1 delete restore')
    expect((await eraseV1(t, user.id)).status).toBe(204)
    await expectAllEventsReachFeed(t, user.id, 'v1 erase')
  })

  it('changes then erase with events pending', async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com` })
    await patchV1(t, user.id, { displayName: 'x' })
    await patchV1(t, user.id, { metadata: { a: 1 } })
    expect((await eraseV1(t, user.id)).status).toBe(204)
    await expectAllEventsReachFeed(t, user.id, 'v1 erase pending')
  })

  it('writes refused by a unique key (username, email, externalId) leave nothing behind, then a change', async () => {
    const other = await createV1(t, { username: unique(), email: `${unique()}@example.com`, externalId: unique('ext') })
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com` })
    expect((await patchV1(t, user.id, { username: other.username.toUpperCase() })).status).toBe(409)
    expect((await patchV1(t, user.id, { externalId: other.externalId as string, displayName: 'x' })).status).toBe(409)
    expect((await patchV1(t, user.id, { email: other.email, metadata: { a: 1 } })).status).toBe(409)
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'userName', value: other.username }])).status).toBe(409)
    expect(
      (
        await scimPut(t, user.id, {
          schemas: [CORE],
          userName: unique(),
          emails: [{ value: other.email, type: 'work' }],
          externalId: other.externalId,
        })
      ).status,
    ).toBe(409)
    expect((await deleteV1(t, other.id)).status).toBe(204)
    expect((await patchV1(t, user.id, { username: other.username, externalId: other.externalId as string })).status).toBe(200)
    expect((await restoreV1(t, other.id)).status).toBe(409)
    expect((await patchV1(t, user.id, { displayName: 'after conflicts' })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'conflicts user')
    await expectAllEventsReachFeed(t, other.id, 'conflicts other')
  })

  it('writer (non-admin) writes', async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com` }, writer.key)
    expect((await patchV1(t, user.id, { displayName: 'w' }, writer.key)).status).toBe(200)
    expect((await patchV1(t, user.id, { email: `${unique()}@example.com` }, writer.key)).status).toBe(200)
    expect((await deleteV1(t, user.id, writer.key)).status).toBe(204)
    await expectAllEventsReachFeed(t, user.id, 'v1 writer')
  })

  it('delete for good (USER_RETENTION_DAYS=0) after changes', async () => {
    const user = await createV1(t0, { username: unique(), email: `${unique()}@example.com` })
    await patchV1(t0, user.id, { displayName: 'x' })
    expect((await deleteV1(t0, user.id)).status).toBe(204)
    await expectAllEventsReachFeed(t0, user.id, 'v1 delete for good')
  })
})

// ---------------------------------------------------------------------------------------------
// SCIM

describe('SCIM writes reach the feed', () => {
  it(
    'the Okta-style replay: create, lookup, PUT, PATCH Replace "False", dotted keys, filtered email, DELETE, re-create',
    HASHING,
    async () => {
      const body = scimBody({ password: '1mz050nq' })
      const user = await scimCreate(t, body)
      expect((await scimLookup(t, body.userName)).status).toBe(200)
      const put = {
        schemas: [CORE],
        id: user.id,
        userName: body.userName,
        name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
        emails: [{ primary: true, value: body.userName, type: 'work', display: body.userName }],
        active: true,
        groups: [],
        meta: { resourceType: 'User' },
      }
      expect((await scimPut(t, user.id, put)).status).toBe(200)
      expect((await scimPut(t, user.id, { ...put, active: false })).status).toBe(200)
      expect((await scimPatch(t, user.id, [{ op: 'replace', value: { active: true } }])).status).toBe(200)
      expect((await scimPatch(t, user.id, [{ op: 'Replace', path: 'active', value: 'False' }])).status).toBe(200)
      expect((await scimPatch(t, user.id, [{ op: 'Replace', path: 'active', value: 'True' }])).status).toBe(200)
      expect(
        (await scimPatch(t, user.id, [{ op: 'replace', value: { 'name.givenName': 'X', 'name.familyName': 'Y' } }])).status,
      ).toBe(200)
      expect(
        (await scimPatch(t, user.id, [{ op: 'replace', path: 'emails[type eq "work"].value', value: `new.${body.userName}` }]))
          .status,
      ).toBe(200)
      expect(
        (await scimPatch(t, user.id, [{ op: 'replace', value: { id: user.id, active: false, displayName: 'D' } }])).status,
      ).toBe(200)
      expect((await scimDelete(t, user.id)).status).toBe(204)
      await expectAllEventsReachFeed(t, user.id, 'okta first')
      const again = await scimCreate(t, { ...body, password: undefined })
      await expectAllEventsReachFeed(t, again.id, 'okta re-created')
      expect((await scimPatch(t, again.id, [{ op: 'replace', value: { externalId: body.externalId } }])).status).toBe(200)
      await expectAllEventsReachFeed(t, again.id, 'okta re-created patched')
    },
  )

  it('PUT clears what it leaves out (displayName, externalId, name)', async () => {
    const body = scimBody()
    const user = await scimCreate(t, body)
    expect((await scimPut(t, user.id, { schemas: [CORE], userName: body.userName, emails: body.emails })).status).toBe(200)
    expect((await scimPut(t, user.id, { ...body, active: false })).status).toBe(200)
    expect((await scimPut(t, user.id, { ...body, userName: `R${body.userName}`, active: true })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'scim put')
  })

  it('PUT with a new email (resets emailVerified) and a password', HASHING, async () => {
    const body = scimBody()
    const user = await scimCreate(t, body)
    expect((await patchV1(t, user.id, { emailVerified: true })).status).toBe(200)
    const email = `${unique()}@okta.local`
    expect(
      (await scimPut(t, user.id, { ...body, emails: [{ value: email, type: 'work', primary: true }], password: 'pw put 12345' }))
        .status,
    ).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'scim put email')
  })

  it('PATCH displayName: add, replace, remove; value-only; core URN key', async () => {
    const user = await scimCreate(t, scimBody())
    expect((await scimPatch(t, user.id, [{ op: 'add', path: 'displayName', value: 'A' }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', value: { displayName: 'B' } }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'remove', path: 'displayName' }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', value: { [CORE]: { displayName: 'C' } } }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'displayName', value: null }])).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'scim displayName')
  })

  it('PATCH name.*: dotted value keys, name object, remove name, remove name.givenName', async () => {
    const user = await scimCreate(t, scimBody())
    expect((await scimPatch(t, user.id, [{ op: 'replace', value: { 'name.givenName': 'Kkom' } }])).status).toBe(200)
    expect(
      (await scimPatch(t, user.id, [{ op: 'replace', path: 'name', value: { givenName: 'G', familyName: 'F' } }])).status,
    ).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'remove', path: 'name.givenName' }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'remove', path: 'name' }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'add', path: 'name.familyName', value: 'Back' }])).status).toBe(200)
    expect(
      (await scimPatch(t, user.id, [{ op: 'replace', value: { name: { givenName: 'N', formatted: 'N Back' } } }])).status,
    ).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'scim name')
  })

  it('PATCH active: booleans, "True"/"False", with other attributes in the same request', async () => {
    const user = await scimCreate(t, scimBody())
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'active', value: false }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'active', value: 'True' }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'Replace', value: { active: 'False', displayName: 'off' } }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', value: { active: 'False' } }])).status).toBe(200)
    expect(
      (
        await scimPatch(t, user.id, [
          { op: 'replace', path: 'active', value: true },
          { op: 'replace', path: 'displayName', value: 'on' },
        ])
      ).status,
    ).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'scim active')
  })

  it('PATCH active on a user disabled through /v1 with disabledUntil and disabledReason', async () => {
    const user = await scimCreate(t, scimBody())
    expect(
      (await patchV1(t, user.id, { status: 'disabled', disabledUntil: future(3_600_000), disabledReason: 'v1' })).status,
    ).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', value: { displayName: 'still disabled' } }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'active', value: 'False' }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'active', value: 'True' }])).status).toBe(200)
    expect(
      (await patchV1(t, user.id, { status: 'disabled', disabledUntil: future(60_000), disabledReason: 'v1 again' })).status,
    ).toBe(200)
    offsetMs += 120_000
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'active', value: false }])).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'scim active over v1 disable')
  })

  it('PATCH emails: filtered paths, whole list, add of another type, primary selection', async () => {
    const body = scimBody()
    const user = await scimCreate(t, body)
    expect((await patchV1(t, user.id, { emailVerified: true })).status).toBe(200)
    expect(
      (await scimPatch(t, user.id, [{ op: 'replace', path: 'emails[type eq "work"].value', value: `a.${body.userName}` }]))
        .status,
    ).toBe(200)
    expect(
      (await scimPatch(t, user.id, [{ op: 'replace', path: 'emails[type eq "work"]', value: { value: `b.${body.userName}` } }]))
        .status,
    ).toBe(200)
    expect(
      (
        await scimPatch(t, user.id, [
          { op: 'replace', path: 'emails', value: [{ value: `c.${body.userName}`, type: 'work', primary: true }] },
        ])
      ).status,
    ).toBe(200)
    expect(
      (await scimPatch(t, user.id, [{ op: 'add', path: 'emails', value: [{ value: `home.${body.userName}`, type: 'home' }] }]))
        .status,
    ).toBe(200)
    expect(
      (
        await scimPatch(t, user.id, [
          { op: 'replace', value: { emails: [{ value: `D.${body.userName}`.toUpperCase(), primary: 'True' }] } },
        ])
      ).status,
    ).toBe(200)
    expect(
      (await scimPatch(t, user.id, [{ op: 'replace', path: 'emails[primary eq true].value', value: `e.${body.userName}` }]))
        .status,
    ).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'scim emails')
  })

  it('PATCH externalId and userName', async () => {
    const body = scimBody()
    const user = await scimCreate(t, body)
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'externalId', value: unique('ext') }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'remove', path: 'externalId' }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'add', value: { externalId: unique('ext') } }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'userName', value: `N${body.userName}` }])).status).toBe(200)
    expect(
      (await scimPatch(t, user.id, [{ op: 'replace', value: { userName: `n${body.userName}`.toLowerCase() } }])).status,
    ).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'scim externalId userName')
  })

  it('PATCH enterprise extension and unstored attributes (no change), mixed with a change', async () => {
    const user = await scimCreate(t, scimBody())
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: `${ENTERPRISE_USER}:department`, value: 'Sales' }])).status).toBe(
      200,
    )
    expect(
      (await scimPatch(t, user.id, [{ op: 'add', value: { [ENTERPRISE_USER]: { employeeNumber: '7' }, nickName: 'n' } }])).status,
    ).toBe(200)
    expect(
      (await scimPatch(t, user.id, [{ op: 'add', value: { [`${ENTERPRISE_USER}:manager`]: { value: 'm' }, displayName: 'E' } }]))
        .status,
    ).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'scim enterprise')
  })

  it('PATCH password: add, replace, remove, remove again, add', HASHING, async () => {
    const user = await scimCreate(t, scimBody({ password: 'scim password 1' }))
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'password', value: 'scim password 2' }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'remove', path: 'password' }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'remove', path: 'password' }])).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'add', value: { password: 'scim password 3', displayName: 'P' } }])).status).toBe(
      200,
    )
    expect((await signIn(t, user.userName, 'scim password 3')).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'password', value: null }])).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'scim password')
  })

  it('PATCH password remove together with other attributes', HASHING, async () => {
    const user = await scimCreate(t, scimBody({ password: 'scim password 1' }))
    for (const other of [
      { op: 'replace', path: 'displayName', value: 'Q' },
      { op: 'replace', path: 'active', value: 'False' },
    ]) {
      expect((await scimPatch(t, user.id, [{ op: 'remove', path: 'password' }, other])).status).toBe(200)
    }
    await expectAllEventsReachFeed(t, user.id, 'scim password remove mixed')
  })

  it('DELETE then re-create with the same externalId and userName, then /v1 restore of the first (conflict)', async () => {
    const body = scimBody()
    const first = await scimCreate(t, body)
    expect((await scimDelete(t, first.id)).status).toBe(204)
    const second = await scimCreate(t, body)
    expect((await restoreV1(t, first.id)).status).toBe(409)
    expect((await scimDelete(t, second.id)).status).toBe(204)
    expect((await restoreV1(t, first.id)).status).toBe(200)
    await expectAllEventsReachFeed(t, first.id, 'scim re-create first')
    await expectAllEventsReachFeed(t, second.id, 'scim re-create second')
  })

  it('PATCH name with a null sub-attribute, add of null, values equal after trimming, If-Match', async () => {
    const user = await scimCreate(t, scimBody())
    expect(
      (await scimPatch(t, user.id, [{ op: 'replace', path: 'name', value: { givenName: 'X', familyName: null } }])).status,
    ).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'add', path: 'name.givenName', value: null }])).status).toBe(200)
    expect((await patchV1(t, user.id, { givenName: '  Y  ' })).status).toBe(200)
    expect((await scimPatch(t, user.id, [{ op: 'replace', path: 'name.givenName', value: 'Y' }])).status).toBe(200)
    const current = (await scimJson(await scim.get(`/Users/${user.id}`))).body as { meta: { version: string } }
    const res = await scim.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'displayName', value: 'IfMatch' }], {
      'if-match': current.meta.version,
    })
    expect(res.status).toBe(200)
    expect(
      (await v1(t, 'PATCH', `/v1/users/${user.id}`, { displayName: 'stale' }, admin.key, { 'if-match': '"1"' })).status,
    ).toBe(412)
    await expectAllEventsReachFeed(t, user.id, 'scim name nulls')
  })

  it('erase for good (USER_RETENTION_DAYS=0): a live user with changes pending, and a deleted one', async () => {
    const live = await createV1(t0, { username: unique(), email: `${unique()}@example.com` })
    await patchV1(t0, live.id, { displayName: 'x' })
    expect((await eraseV1(t0, live.id)).status).toBe(204)
    const deleted = await scimCreate(t0, scimBody())
    expect((await scimDelete(t0, deleted.id)).status).toBe(204)
    // Deleted for good: gone for every read at once, so no erase (404); its events still come.
    expect((await eraseV1(t0, deleted.id)).status).toBe(404)
    await expectAllEventsReachFeed(t0, live.id, 'erase for good')
    await expectAllEventsReachFeed(t0, deleted.id, 'deleted for good')
  })

  it('SCIM DELETE for good (USER_RETENTION_DAYS=0), re-create', async () => {
    const body = scimBody()
    const first = await scimCreate(t0, body)
    expect((await scimPatch(t0, first.id, [{ op: 'replace', value: { displayName: 'x' } }])).status).toBe(200)
    expect((await scimDelete(t0, first.id)).status).toBe(204)
    const second = await scimCreate(t0, body)
    await expectAllEventsReachFeed(t0, first.id, 'scim delete for good')
    await expectAllEventsReachFeed(t0, second.id, 'scim re-created after delete for good')
  })
})

// ---------------------------------------------------------------------------------------------
// Legacy routes and sign-in

describe('legacy routes and sign-in reach the feed', () => {
  it('/create, /update (role, is_active, email, username, password), /delete', HASHING, async () => {
    const username = unique('legacy')
    const created = await legacy(t, 'POST', '/create', { username, email: `${username}@example.com`, is_active: false })
    expect(created.status).toBe(201)
    const id = (created.body as { _id: { $oid: string } })._id.$oid
    expect((await legacy(t, 'PUT', `/update/${username}`, { is_active: true })).status).toBe(200)
    expect((await legacy(t, 'PUT', `/update/${username}`, { role: 'admin', is_active: false })).status).toBe(200)
    expect((await legacy(t, 'PUT', `/update/${username}`, { email: `x${username}@example.com` })).status).toBe(200)
    expect((await legacy(t, 'PUT', `/update/${username}`, { password: 'legacy password 1' })).status).toBe(200)
    const renamed = `r${username}`
    expect((await legacy(t, 'PUT', `/update/${username}`, { username: renamed, is_active: true })).status).toBe(200)
    expect((await signIn(t, renamed, 'legacy password 1')).status).toBe(200)
    expect((await legacy(t, 'DELETE', `/delete/${renamed}`)).status).toBe(200)
    await expectAllEventsReachFeed(t, id, 'legacy')
  })

  it('sign-in of a disabled-then-lapsed user, and of an imported hash, between changes', HASHING, async () => {
    const user = await createV1(t, { username: unique(), email: `${unique()}@example.com`, passwordHash: bcrypt })
    expect((await patchV1(t, user.id, { status: 'disabled', disabledUntil: future(60_000) })).status).toBe(200)
    expect((await signIn(t, user.username, BCRYPT_PASSWORD)).status).toBe(403)
    offsetMs += 120_000
    expect((await signIn(t, user.username, BCRYPT_PASSWORD)).status).toBe(200)
    expect((await patchV1(t, user.id, { displayName: 'signed in' })).status).toBe(200)
    await expectAllEventsReachFeed(t, user.id, 'sign-in lapse')
  })
})

// ---------------------------------------------------------------------------------------------
// Concurrent writes to one user, from every surface, while the relay pops

describe('concurrent writes to one user reach the feed', () => {
  it('20 rounds of 12 concurrent writes mixing surfaces, with sign-ins', { timeout: 300_000 }, async () => {
    const body = scimBody()
    const user = await scimCreate(t, body)
    expect((await patchV1(t, user.id, { passwordHash: bcrypt })).status).toBe(200)
    let n = 0
    for (let round = 0; round < 20; round++) {
      const current = (await v1(t, 'GET', `/v1/users/${user.id}`)).body as { username: string; email: string }
      const writes: Promise<unknown>[] = []
      for (let i = 0; i < 12; i++) {
        n++
        const k = (round * 12 + i) % 9
        if (k === 0) writes.push(patchV1(t, user.id, { displayName: `d${n}` }))
        if (k === 1) writes.push(patchV1(t, user.id, { metadata: { [`k${n % 3}`]: n } }))
        if (k === 2) writes.push(scimPatch(t, user.id, [{ op: 'Replace', path: 'active', value: n % 2 ? 'False' : 'True' }]))
        if (k === 3)
          writes.push(scimPatch(t, user.id, [{ op: 'replace', value: { 'name.givenName': `g${n}`, displayName: `s${n}` } }]))
        if (k === 4) writes.push(signIn(t, current.username, BCRYPT_PASSWORD))
        if (k === 5)
          writes.push(patchV1(t, user.id, { status: 'disabled', disabledUntil: future(3_600_000), disabledReason: `r${n}` }))
        if (k === 6) writes.push(patchV1(t, user.id, { status: 'active' }))
        if (k === 7)
          writes.push(
            scimPatch(t, user.id, [{ op: 'replace', path: 'emails[type eq "work"].value', value: `c${n}.${body.userName}` }]),
          )
        if (k === 8) writes.push(patchV1(t, user.id, { emailVerified: n % 2 === 0 }))
      }
      await Promise.all(writes)
    }
    await expectAllEventsReachFeed(t, user.id, 'concurrent')
  })
})

// ---------------------------------------------------------------------------------------------
// Randomized

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

type Model = {
  id: string
  username: string
  email: string
  externalId?: string
  password?: string
  state: 'live' | 'deleted' | 'erased'
}

const SEED = Number(process.env.HUNT_SEED ?? 20261201)
const OPS = Number(process.env.HUNT_OPS ?? 150)

describe('randomized sequences mixing surfaces', () => {
  it(`seed ${SEED}: ${OPS} random writes on a few users, each user's feed checked after every drain`, async () => {
    const random = prng(SEED)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const chance = (p: number) => random() < p
    const word = () => pick(['Ann', 'Bob', 'Cy', 'Dee', 'Eve', 'Fay', ' padded ', 'Zoë'])
    const users: Model[] = []
    const log: string[] = []
    const failures: unknown[] = []

    const fresh = async (): Promise<Model> => {
      const n = unique('rnd')
      const kind = pick(['v1', 'scim', 'legacy'])
      if (kind === 'v1') {
        const body: Body = { username: n, email: `${n}@example.com` }
        if (chance(0.5)) body.displayName = word().trim()
        if (chance(0.3)) body.metadata = { seed: 1, nested: { a: [1, 'b'] } }
        if (chance(0.3)) body.externalId = unique('ext')
        if (chance(0.2)) {
          body.status = 'disabled'
          if (chance(0.5)) body.disabledUntil = future(pick([30_000, 3_600_000]))
          if (chance(0.5)) body.disabledReason = 'created so'
        }
        if (chance(0.15)) body.passwordHash = bcrypt
        const user = await createV1(t, body)
        log.push(`create v1 ${JSON.stringify(body)}`)
        return {
          id: user.id,
          username: n,
          email: body.email as string,
          ...(body.externalId ? { externalId: body.externalId as string } : {}),
          ...(body.passwordHash ? { password: BCRYPT_PASSWORD } : {}),
          state: 'live',
        }
      }
      if (kind === 'scim') {
        const body = scimBody({
          userName: `${n}@okta.local`,
          emails: [{ primary: true, value: `${n}@okta.local`, type: 'work' }],
        })
        if (chance(0.3)) (body as Body).active = 'False'
        const user = await scimCreate(t, body)
        log.push(`create scim ${JSON.stringify(body)}`)
        return { id: user.id, username: body.userName, email: body.userName, externalId: body.externalId, state: 'live' }
      }
      const res = await legacy(t, 'POST', '/create', { username: n, email: `${n}@example.com`, is_active: chance(0.8) })
      if (res.status !== 201) throw new Error(`legacy create ${res.status}`)
      log.push('create legacy')
      return { id: (res.body as { _id: { $oid: string } })._id.$oid, username: n, email: `${n}@example.com`, state: 'live' }
    }

    /** Reads the user's current username and email (they change through many surfaces). */
    const refresh = async (user: Model) => {
      const res = await v1(t, 'GET', `/v1/users/${user.id}?includeDeleted=true`)
      if (res.status !== 200) return
      user.username = res.body?.username as string
      user.email = res.body?.email as string
      user.externalId = res.body?.externalId as string | undefined
      user.state = res.body?.deletedAt ? 'deleted' : 'live'
    }

    const scimOps = (user: Model): unknown[] => {
      const op = () => pick(['replace', 'Replace', 'add'])
      const choices: (() => unknown)[] = [
        () => ({ op: op(), path: 'displayName', value: word() }),
        () => ({ op: op(), value: { displayName: word() } }),
        () => ({ op: 'remove', path: 'displayName' }),
        () => ({ op: op(), value: { 'name.givenName': word() } }),
        () => ({ op: op(), value: { 'name.familyName': word(), 'name.givenName': word() } }),
        () => ({ op: op(), path: 'name.familyName', value: word() }),
        () => ({ op: 'remove', path: pick(['name.givenName', 'name.familyName', 'name']) }),
        () => ({ op: op(), path: 'name', value: { givenName: word(), middleName: 'M' } }),
        () => ({ op: op(), path: 'active', value: pick([true, false, 'True', 'False', 'true', 'false']) }),
        () => ({ op: op(), value: { active: pick([true, false, 'True', 'False']) } }),
        () => ({ op: op(), path: 'emails[type eq "work"].value', value: `${unique('m')}@okta.local` }),
        () => ({ op: op(), path: 'emails[type eq "work"].value', value: user.email.toUpperCase() }),
        () => ({ op: op(), path: 'emails', value: [{ value: `${unique('m')}@okta.local`, type: 'work', primary: true }] }),
        () => ({ op: 'add', path: 'emails', value: [{ value: `${unique('h')}@okta.local`, type: 'home' }] }),
        () => ({ op: op(), path: 'externalId', value: unique('ext') }),
        () => ({ op: 'remove', path: 'externalId' }),
        () => ({ op: op(), path: 'userName', value: `${unique('un')}@okta.local` }),
        () => ({ op: op(), path: `${ENTERPRISE_USER}:department`, value: word() }),
        () => ({ op: op(), value: { [ENTERPRISE_USER]: { costCenter: word() }, nickName: word() } }),
        () => ({ op: op(), value: { id: user.id, active: pick([true, 'False']) } }),
        () => ({ op: op(), value: { [CORE]: { displayName: word() } } }),
      ]
      choices.push(() => ({ op: 'remove', path: 'password' }))
      if (chance(0.05)) choices.push(() => ({ op: op(), path: 'password', value: 'scim random pw 1' }))
      if (chance(0.05)) choices.push(() => ({ op: op(), value: { password: 'scim random pw 2', 'name.givenName': word() } }))
      const count = chance(0.7) ? 1 : 2 + Math.floor(random() * 3)
      return Array.from({ length: count }, () => pick(choices)())
    }

    const v1Patch = (user: Model): Body => {
      const choices: (() => Body)[] = [
        () => ({ displayName: chance(0.3) ? null : word() }),
        () => ({ givenName: chance(0.3) ? null : word() }),
        () => ({ familyName: chance(0.3) ? null : word() }),
        () => ({ externalId: chance(0.3) ? null : unique('ext') }),
        () => ({ emailVerified: chance(0.5) }),
        () => ({ email: `${unique('e')}@example.com` }),
        () => ({ email: user.email.toUpperCase() }),
        () => ({ email: `${unique('e')}@example.com`, emailVerified: chance(0.5) }),
        () => ({ username: unique('un') }),
        () => ({ role: pick(['user', 'admin']) }),
        () => ({ status: pick(['active', 'disabled']) }),
        () => ({ status: 'disabled', disabledUntil: future(pick([30_000, 3_600_000])), disabledReason: 'r' }),
        () => ({ status: 'disabled', disabledReason: word().trim() }),
        () => ({ disabledReason: chance(0.3) ? null : 'rr' }),
        () => ({ disabledUntil: chance(0.3) ? null : future(600_000) }),
        () => ({ metadata: { [pick(['a', 'b', 'c'])]: pick([1, 'x', null, { d: 1 }, [1, 2], { d: null }]) } }),
        () => ({ metadata: null }),
        () => ({ metadata: { a: 1 }, displayName: word() }),
        () => ({ displayName: word(), givenName: word(), emailVerified: chance(0.5) }),
        () => ({ passwordHash: bcrypt }),
      ]
      // Often several fields at once (the one-write path with many fields, the read path with a mix).
      if (chance(0.5)) return pick(choices)()
      const combined: Body = {}
      for (let i = 0, n = 2 + Math.floor(random() * 3); i < n; i++) Object.assign(combined, pick(choices)())
      if (chance(0.1)) combined.password = `pw ${unique()}`
      if (combined.status === 'active') {
        if (combined.disabledUntil !== null) delete combined.disabledUntil
        if (combined.disabledReason !== null) delete combined.disabledReason
      }
      return combined
    }

    for (let i = 0; i < 4; i++) users.push(await fresh())
    let since = new Set<string>()
    for (let step = 0; step < OPS; step++) {
      const index = Math.floor(random() * users.length)
      let user = users[index] as Model
      if (user.state === 'erased' || (user.state === 'deleted' && chance(0.5))) {
        user = await fresh()
        users[index] = user
      }
      const roll = random()
      let what = ''
      let status = 0
      if (user.state === 'deleted') {
        const res = await restoreV1(t, user.id)
        what = 'restore'
        status = res.status
      } else if (roll < 0.3) {
        const ops = scimOps(user)
        const res = await scimPatch(t, user.id, ops)
        what = `scim PATCH ${JSON.stringify(ops)}`
        status = res.status
      } else if (roll < 0.55) {
        const body = v1Patch(user)
        const res = await patchV1(t, user.id, body, chance(0.85) ? admin.key : writer.key)
        what = `v1 PATCH ${JSON.stringify(body)}`
        status = res.status
      } else if (roll < 0.62) {
        const body: Body = {
          schemas: [CORE],
          userName: chance(0.8) ? user.username : `${unique('put')}@okta.local`,
          emails: [{ value: chance(0.8) ? user.email : `${unique('put')}@okta.local`, type: 'work', primary: true }],
          ...(chance(0.5) ? { name: { givenName: word(), familyName: word() } } : {}),
          ...(chance(0.5) ? { displayName: word() } : {}),
          ...(chance(0.5) && user.externalId ? { externalId: user.externalId } : {}),
          ...(chance(0.6) ? { active: pick([true, false, 'True', 'False']) } : {}),
        }
        const res = await scimPut(t, user.id, body)
        what = `scim PUT ${JSON.stringify(body)}`
        status = res.status
      } else if (roll < 0.68) {
        const body: Body = pick<Body>([
          { is_active: chance(0.5) },
          { role: pick(['user', 'admin']) },
          { email: `${unique('l')}@example.com` },
          { username: unique('l'), is_active: true },
          { role: 'user', is_active: false },
        ])
        const res = await legacy(t, 'PUT', `/update/${user.username}`, body)
        what = `legacy update ${JSON.stringify(body)}`
        status = res.status
      } else if (roll < 0.74) {
        if (user.password && chance(0.7)) {
          const res = await signIn(t, chance(0.5) ? user.username : user.email, user.password)
          what = 'sign-in'
          status = res.status
        } else {
          const res = await patchV1(t, user.id, { passwordHash: bcrypt })
          user.password = BCRYPT_PASSWORD
          what = 'v1 PATCH passwordHash'
          status = res.status
        }
      } else if (roll < 0.79) {
        offsetMs += pick([45_000, 4_000_000])
        what = `clock +${offsetMs}`
      } else if (roll < 0.84) {
        const res = await pick([
          () => deleteV1(t, user.id),
          () => scimDelete(t, user.id),
          () => legacy(t, 'DELETE', `/delete/${user.username}`),
        ])()
        what = 'delete'
        status = res.status
        if (status === 204 || status === 200) user.state = 'deleted'
      } else if (roll < 0.87) {
        const res = await eraseV1(t, user.id)
        what = 'erase'
        status = res.status
        if (status === 204) user.state = 'erased'
      } else if (roll < 0.9) {
        // Re-create with the same externalId (the Okta pattern): allowed only once the first is deleted.
        const body = scimBody(user.externalId ? { externalId: user.externalId } : {})
        const res = await scimJson(await scim.post('/Users', body))
        what = `scim re-create ${res.status}`
        status = res.status
        if (res.status === 201) {
          const created: Model = {
            id: res.body?.id as string,
            username: body.userName,
            email: body.userName,
            externalId: body.externalId,
            state: 'live',
          }
          users.push(created)
          since.add(created.id)
        }
      } else {
        const body = v1Patch(user)
        const res = await patchV1(t, user.id, body)
        what = `v1 PATCH ${JSON.stringify(body)}`
        status = res.status
      }
      log.push(`#${step} ${user.id} ${what} -> ${status}`)
      since.add(user.id)
      if (user.state !== 'erased') await refresh(user)
      // Drain every 1 to 3 steps: several pending events are replayed together too.
      if (chance(0.5) || step === OPS - 1) {
        for (const id of since) {
          const got = await feedOf(t, id)
          const expected = got.storedVersion ?? got.versions.length
          const whole = isDeepStrictEqual(
            got.versions,
            Array.from({ length: expected }, (_, i) => i + 1),
          )
          if (!whole || got.held || got.mismatch) {
            const history = log.filter((line) => line.includes(id))
            failures.push({
              id,
              step,
              versions: got.versions,
              storedVersion: got.storedVersion,
              held: got.held,
              mismatch: got.mismatch,
              history,
            })
            console.error('[hunt] random failure', JSON.stringify(failures.at(-1), null, 1))
          }
        }
        since = new Set()
        // One failing user at a time is enough to report.
        if (failures.length >= 3) break
      }
    }
    const statuses = new Map<string, number>()
    for (const line of log) {
      const match = / -> (\d+)$/.exec(line)
      if (match) statuses.set(match[1] as string, (statuses.get(match[1] as string) ?? 0) + 1)
    }
    console.error('[hunt] statuses', JSON.stringify(Object.fromEntries(statuses)))
    expect(failures).toEqual([])
  }, 600_000)
})

// ---------------------------------------------------------------------------------------------
// The service as a real process (its own relay, default timings), as the reviewer ran it

describe('a real process: the Okta-style sequence, its relay and its log', () => {
  it('every write of an Okta-style user and of its re-creation reaches the feed; nothing held back', {
    timeout: 120_000,
  }, async () => {
    const dbName = `test_hunt_process_${crypto.randomUUID().slice(0, 8)}`
    const server = await startServer(['bun', 'src/index.ts'], {
      MONGODB_URI: globalThis.testMongoUri,
      MONGODB_DB: dbName,
      AUTH_API_KEYS: JSON.stringify([scimKey.entry, reader.entry, admin.entry]),
    })
    afterAll(async () => {
      server.proc.kill('SIGKILL')
      const { MongoClient } = await import('mongodb')
      const mongo = new MongoClient(globalThis.testMongoUri)
      await mongo.db(dbName).dropDatabase()
      await mongo.close()
    })
    const base = server.url.replace(/\/$/, '')
    const send = async (method: string, path: string, body?: unknown, key = scimKey.key) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body !== undefined
            ? { 'content-type': path.startsWith('/scim') ? 'application/scim+json' : 'application/json' }
            : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
      const text = await res.text()
      return { status: res.status, body: text === '' ? null : (JSON.parse(text) as Body) }
    }
    const patchOp = (ops: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops })
    /** A PatchOp of `ops` on `userId`: its status. */
    const patched = async (userId: string, ops: unknown[]) =>
      (await send('PATCH', `/scim/v2/Users/${userId}`, patchOp(ops))).status
    const body = scimBody({ password: '1mz050nq' })
    const ids: string[] = []
    expect((await send('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${body.userName}"`)}`)).status).toBe(200)
    const created = await send('POST', '/scim/v2/Users', body)
    expect(created.status).toBe(201)
    const id = created.body?.id as string
    ids.push(id)
    expect((await send('POST', '/scim/v2/Users', body)).status).toBe(409)
    expect((await send('POST', '/v1/auth/verify', { login: body.userName, password: '1mz050nq' }, admin.key)).status).toBe(200)
    const put = {
      ...body,
      id,
      name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
      displayName: undefined,
      externalId: undefined,
      password: undefined,
    }
    expect((await send('PUT', `/scim/v2/Users/${id}`, put)).status).toBe(200)
    expect((await send('PUT', `/scim/v2/Users/${id}`, { ...put, active: false })).status).toBe(200)
    expect(await patched(id, [{ op: 'replace', value: { active: true } }])).toBe(200)
    expect(await patched(id, [{ op: 'Replace', path: 'active', value: 'False' }])).toBe(200)
    expect(await patched(id, [{ op: 'Replace', path: 'active', value: 'True' }])).toBe(200)
    expect(
      await patched(id, [
        { op: 'replace', value: { 'name.givenName': 'X', displayName: 'D', [`${ENTERPRISE_USER}:employeeNumber`]: '7' } },
      ]),
    ).toBe(200)
    expect(
      await patched(id, [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: `w.${body.userName}` },
        { op: 'Replace', path: 'externalId', value: body.externalId },
      ]),
    ).toBe(200)
    expect((await send('POST', '/v1/auth/verify', { login: `w.${body.userName}`, password: '1mz050nq' }, admin.key)).status).toBe(
      200,
    )
    expect(await patched(id, [{ op: 'remove', path: 'password' }])).toBe(200)
    expect((await send('DELETE', `/scim/v2/Users/${id}`)).status).toBe(204)
    const again = await send('POST', '/scim/v2/Users', body)
    expect(again.status).toBe(201)
    const second = again.body?.id as string
    ids.push(second)
    expect(await patched(second, [{ op: 'replace', value: { active: 'False', 'name.familyName': 'Z' } }])).toBe(200)
    const { MongoClient } = await import('mongodb')
    const mongo = new MongoClient(globalThis.testMongoUri)
    try {
      for (const userId of ids) {
        const doc = await mongo
          .db(dbName)
          .collection('users')
          .findOne({ _id: new ObjectId(userId) })
        const stored = doc?.version as number
        let versions: number[] = []
        for (const until = Date.now() + 15_000; Date.now() < until; await Bun.sleep(200)) {
          const feed = await send('GET', `/v1/events?userId=${userId}&limit=500`, undefined, reader.key)
          versions = ((feed.body?.items ?? []) as { userVersion: number }[]).map((event) => event.userVersion)
          if (versions.at(-1) === stored) break
        }
        const held = server.logs.join('').includes('does not match the stored user')
        expect({ userId, versions, held }).toEqual({
          userId,
          versions: Array.from({ length: stored }, (_, i) => i + 1),
          held: false,
        })
      }
    } finally {
      await mongo.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------
// The users service itself, with inputs of every shape its type allows (wider than the surfaces)

describe('service-level fuzz: every UpdateInput shape', () => {
  it('random well-typed patches through the service reach the feed', { timeout: 300_000 }, async () => {
    const service = createUsersService({ users: t.users, passwords: createBunPasswordHasher(), clock })
    const random = prng(Number(process.env.HUNT_SEED ?? 7) + 1000)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const chance = (p: number) => random() < p
    const failures: unknown[] = []
    const field: Record<string, () => unknown> = {
      username: () => unique('svc'),
      email: () => `${unique('svc')}@Example.com`,
      displayName: () => pick([null, 'D', 'E']),
      givenName: () => pick([null, 'G', 'H']),
      familyName: () => pick([null, 'F']),
      externalId: () => pick([null, unique('x')]),
      emailVerified: () => chance(0.5),
      role: () => pick(['user', 'admin']),
      status: () => pick(['active', 'disabled']),
      disabledUntil: () => pick([null, future(30_000), future(7_200_000)]),
      disabledReason: () => pick([null, 'why', 'because']),
      metadata: () => pick([null, { a: 1 }, { a: null, b: { c: 2 } }, { d: [1, { e: 2 }] }]),
      password: () => pick([null, null, null, 'svc password 1']),
      passwordHash: () => bcrypt,
    }
    const names = Object.keys(field)
    const ids: string[] = []
    for (let i = 0; i < 5; i++)
      ids.push((await createV1(t, { username: unique('svc'), email: `${unique('svc')}@example.com` })).id)
    for (let step = 0; step < Number(process.env.HUNT_SVC_OPS ?? 200); step++) {
      const id = pick(ids)
      const input: Record<string, unknown> = {}
      for (let i = 0, n = 1 + Math.floor(random() * 4); i < n; i++) {
        const name = pick(names)
        if (name === 'password' && random() < 0.3) continue
        input[name] = field[name]?.()
      }
      if (input.password !== undefined && input.passwordHash !== undefined) delete input.passwordHash
      if (input.status === 'active') {
        if (input.disabledUntil !== null) delete input.disabledUntil
        if (input.disabledReason !== null) delete input.disabledReason
      }
      if (chance(0.05)) offsetMs += 60_000
      let outcome: unknown
      try {
        const roll = random()
        if (roll < 0.04) outcome = await service.delete({ by: 'id', value: id }, { authority: { admin: true } })
        else if (roll < 0.1) outcome = await service.restore(id, { authority: { admin: true } })
        else outcome = await service.update({ by: 'id', value: id }, input as UpdateInput, { authority: { admin: chance(0.9) } })
      } catch (error) {
        outcome = String(error)
      }
      const got = await feedOf(t, id)
      if (!complete(got)) {
        failures.push({ step, id, input, outcome: JSON.stringify(outcome).slice(0, 200), mismatch: got.mismatch, held: got.held })
        console.error('[hunt] service failure', JSON.stringify(failures.at(-1), null, 1))
        ids[ids.indexOf(id)] = (await createV1(t, { username: unique('svc'), email: `${unique('svc')}@example.com` })).id
        if (failures.length >= 3) break
      }
    }
    expect(failures).toEqual([])
  })
})

describe('concurrent random writes on several users at once', () => {
  it('rounds of parallel writes from every surface, lifecycle included', { timeout: 300_000 }, async () => {
    const random = prng(Number(process.env.HUNT_SEED ?? 7) + 2000)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const users: { id: string; body: ReturnType<typeof scimBody> }[] = []
    for (let i = 0; i < 4; i++) {
      const body = scimBody()
      const created = await scimCreate(t, body)
      expect((await patchV1(t, created.id, { passwordHash: bcrypt })).status).toBe(200)
      users.push({ id: created.id, body })
    }
    const failures: unknown[] = []
    for (let round = 0; round < Number(process.env.HUNT_ROUNDS ?? 20); round++) {
      const writes: Promise<unknown>[] = []
      for (let i = 0; i < 10; i++) {
        const user = pick(users)
        const n = round * 10 + i
        const action = pick([
          () => patchV1(t, user.id, { displayName: `d${n}` }),
          () => patchV1(t, user.id, { metadata: { [`k${n % 3}`]: n } }),
          () => patchV1(t, user.id, { status: 'disabled', disabledUntil: future(3_600_000), disabledReason: `r${n}` }),
          () => patchV1(t, user.id, { status: 'active' }),
          () => patchV1(t, user.id, { email: `e${n}.${user.body.userName}` }),
          () => scimPatch(t, user.id, [{ op: 'Replace', path: 'active', value: n % 2 ? 'False' : 'True' }]),
          () => scimPatch(t, user.id, [{ op: 'replace', value: { 'name.givenName': `g${n}`, displayName: `s${n}` } }]),
          () => scimPatch(t, user.id, [{ op: 'remove', path: 'password' }]),
          () => scimPut(t, user.id, { ...user.body, userName: user.body.userName, active: n % 2 === 0 }),
          () => signIn(t, user.body.userName, BCRYPT_PASSWORD),
          () => deleteV1(t, user.id),
          () => restoreV1(t, user.id),
          () => scimDelete(t, user.id),
        ])
        writes.push(action())
      }
      await Promise.all(writes)
      if (round % 5 === 4) {
        for (const user of users) {
          const got = await feedOf(t, user.id)
          if (!complete(got)) {
            failures.push({
              round,
              id: user.id,
              versions: got.versions,
              storedVersion: got.storedVersion,
              mismatch: got.mismatch,
              held: got.held,
            })
            console.error('[hunt] concurrent failure', JSON.stringify(failures.at(-1), null, 1))
          }
        }
        if (failures.length > 0) break
      }
    }
    expect(failures).toEqual([])
  })
})
