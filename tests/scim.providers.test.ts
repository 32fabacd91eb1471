import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import entra from './fixtures/scim/entra.json'
import okta from './fixtures/scim/okta.json'
import { startServer } from './helpers/process'

/**
 * What Microsoft Entra ID and Okta send, replayed over HTTP against the service as a real process
 * (auth on, a key with the scope `scim` only): each fixture's steps in order (tests/fixtures/scim,
 * recorded from the providers' public documentation), `{id}` and `{token}` substituted, paths
 * percent-encoded as a client sends them. Each step must get the documented status and the
 * documented response fields; every answer with a body is application/scim+json.
 */
type Step = {
  name: string
  request: { method: string; path: string; body?: unknown; headers?: Record<string, string> }
  expect: { status: number; body?: Record<string, unknown> }
}
type Fixture = { provider: string; replay: { headers: Record<string, string> }; steps: Step[] }

const token = `usk_${randomBytes(32).toString('base64url')}`
/** A second caller, reading the change events the replays made. */
const reader = `usk_${randomBytes(32).toString('base64url')}`
const dbName = `test_scim_providers_${crypto.randomUUID().slice(0, 8)}`
let server: Awaited<ReturnType<typeof startServer>> | undefined
let base = ''

beforeAll(async () => {
  server = await startServer(['bun', 'src/index.ts'], {
    MONGODB_URI: globalThis.testMongoUri,
    MONGODB_DB: dbName,
    AUTH_API_KEYS: JSON.stringify([
      { name: 'identity-provider', sha256: createHash('sha256').update(token).digest('hex'), scopes: ['scim'] },
      { name: 'events-reader', sha256: createHash('sha256').update(reader).digest('hex'), scopes: ['events:read'] },
    ]),
  })
  base = `${server.url.replace(/\/$/, '')}/scim/v2`
}, 60_000)

afterAll(async () => {
  server?.proc.kill('SIGKILL')
  const mongo = new MongoClient(globalThis.testMongoUri)
  await mongo.db(dbName).dropDatabase()
  await mongo.close()
})

/** Replaces every `{placeholder}` in strings, arrays and objects. */
function substitute<T>(value: T, values: Record<string, string>): T {
  if (typeof value === 'string') return value.replace(/\{(id|token)\}/g, (_, name: string) => values[name] ?? `{${name}}`) as T
  if (Array.isArray(value)) return value.map((item) => substitute(item, values)) as T
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, values)])) as T
  }
  return value
}

/** Runs a fixture's steps in order; returns each step's answer for the assertions that follow. */
async function replay(fixture: Fixture) {
  const values: Record<string, string> = { token }
  const answers: {
    step: Step
    status: number
    type: string | null
    etag: string | null
    body: Record<string, unknown> | null
  }[] = []
  for (const raw of fixture.steps) {
    const step = substitute(raw, values)
    const headers = substitute({ ...fixture.replay.headers, ...step.request.headers }, values)
    // The URL parser percent-encodes the filter's spaces and quotes, as a client does.
    const res = await fetch(new URL(`${base}${step.request.path}`), {
      method: step.request.method,
      headers,
      ...(step.request.body !== undefined ? { body: JSON.stringify(step.request.body) } : {}),
    })
    const text = await res.text()
    const body = text === '' ? null : (JSON.parse(text) as Record<string, unknown>)
    if (step.name === 'create-user' && typeof body?.id === 'string') values.id = body.id
    answers.push({ step, status: res.status, type: res.headers.get('content-type'), etag: res.headers.get('etag'), body })
  }
  return answers
}

describe.each([
  ['Microsoft Entra ID', entra as Fixture],
  ['Okta', okta as Fixture],
])('%s, replayed', (_, fixture) => {
  let answers: Awaited<ReturnType<typeof replay>> = []
  beforeAll(async () => {
    answers = await replay(fixture)
  })

  it.each(fixture.steps.map((step, index) => [step.name, index] as const))(
    '%s: the documented status and fields',
    (_name, index) => {
      const answer = answers[index]!
      expect({ step: answer.step.name, status: answer.status }).toEqual({
        step: answer.step.name,
        status: answer.step.expect.status,
      })
      if (answer.step.expect.body) expect(answer.body).toMatchObject(structuredClone(answer.step.expect.body))
      if (answer.body !== null) expect(answer.type).toBe('application/scim+json')
    },
  )
})

describe('what the replays also show', () => {
  /** A fresh replay (its users renamed, so it can run again on the same database), by step name. */
  const replayed = async (fixture: Fixture) => {
    const answers = await replay(renamed(fixture))
    return (step: string) => answers.find((answer) => answer.step.name === step)!
  }

  it('Entra: an attribute the service does not store (nickName) changes nothing, not even the version', async () => {
    const at = await replayed(entra as Fixture)
    const before = at('replace-multiple-attributes-with-compliance-flag')
    const after = at('add-single-value-string-attribute')
    expect(after.status).toBe(200)
    expect(after.etag).toBe(before.etag)
    expect(after.body).not.toHaveProperty('nickName')
  })

  it('Okta: a PUT clears what it leaves out (displayName, externalId) but keeps the password', async () => {
    const at = await replayed(okta as Fixture)
    expect(at('create-user').body).toMatchObject({ displayName: 'Test User', externalId: expect.any(String) })
    const put = at('update-user-put').body!
    expect(put).not.toHaveProperty('displayName')
    expect(put).not.toHaveProperty('externalId')
    expect(put).not.toHaveProperty('password')
    const mongo = new MongoClient(globalThis.testMongoUri)
    try {
      const stored = await mongo
        .db(dbName)
        .collection('users')
        .findOne({ _id: { $exists: true }, username: put.userName as string })
      expect(stored?.passwordHash).toStartWith('$argon2id$')
    } finally {
      await mongo.close()
    }
  })
})

/**
 * The fixture with its usernames, emails and external ids made unique, so it can be replayed
 * again on the same database (the first replay's users still hold them).
 */
function renamed(fixture: Fixture): Fixture {
  const tag = randomBytes(4).toString('hex')
  const text = JSON.stringify(fixture.steps)
    .replaceAll('test.user@okta.local', `test.user.${tag}@okta.local`)
    .replaceAll('Test_User_', `Test_User_${tag}_`)
    .replaceAll('00ujl29u0le5T6Aj10h7', `00ujl29u0le5T6Aj10h7${tag}`)
    .replaceAll('0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef', `0a21f0f2-${tag}`)
    .replaceAll('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com', `5b50642d-${tag}@testuser.com`)
    .replaceAll('updatedEmail@microsoft.com', `updated.${tag}@microsoft.com`)
    .replaceAll('TestBcwqnm@', `TestBcwqnm.${tag}@`)
    .replaceAll('TestMhvaes@', `TestMhvaes.${tag}@`)
    .replaceAll('"Eqpj"', `"Eqpj${tag}"`)
  return { ...fixture, steps: JSON.parse(text) as Step[] }
}

describe('the change events of every replayed write', () => {
  /** The versions in `userId`'s feed, once its last event is the user's stored version (or after 10 s). */
  async function feedVersions(userId: string, stored: number): Promise<number[]> {
    const until = Date.now() + 10_000
    for (;;) {
      const res = await fetch(`${server?.url.replace(/\/$/, '')}/v1/events?userId=${userId}&limit=500`, {
        headers: { authorization: `Bearer ${reader}` },
      })
      expect(res.status).toBe(200)
      const versions = ((await res.json()) as { items: { userVersion: number }[] }).items.map((event) => event.userVersion)
      if (versions.at(-1) === stored || Date.now() > until) return versions
      await Bun.sleep(100)
    }
  }

  it('reach the feed: each user has one event per version, 1 to the stored one', async () => {
    // The relay holds back a user whose replayed events do not reach the stored user; an Okta
    // replay once did that (found by a black-box review), and a removed password did too.
    const mongo = new MongoClient(globalThis.testMongoUri)
    try {
      const users = await mongo
        .db(dbName)
        .collection('users')
        .find({}, { projection: { version: 1 } })
        .toArray()
      expect(users.length).toBeGreaterThan(3)
      for (const user of users) {
        const stored = user.version as number
        expect({ id: user._id.toHexString(), versions: await feedVersions(user._id.toHexString(), stored) }).toEqual({
          id: user._id.toHexString(),
          versions: Array.from({ length: stored }, (_, i) => i + 1),
        })
      }
    } finally {
      await mongo.close()
    }
  }, 60_000)
})
