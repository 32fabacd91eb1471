/**
 * Conformance check of the benchmark's peers (`bun run bench:peers:check`): installs the Express
 * and Flask peers, starts each against the embedded database seeded through the service's own
 * repository, and checks every benchmarked endpoint's status, body and ETag against what the
 * service itself stores and returns. Users written by a peer are read back through the service's
 * repository, so the peers and the service agree on the stored shape. Exits 1 on any mismatch.
 * Not part of `bun test`: installing Express and Flask takes a while the first time.
 */
import { connectDatabase, type Database } from '../../../src/db/mongo'
import type { UsersRepository } from '../../../src/users/users.model'
import { encodeCursor } from '../../../src/users/users.pagination'
import { createUsersRepository } from '../../../src/users/users.repository'
import type { ListUsersQuery, User } from '../../../src/users/users.schemas'
import { startDatabase } from '../lib'
import { type Peer, startPeer } from './peer.process'
import { ensureExpressPeer, ensureFlaskPeer } from './setup'

const failures: string[] = []
let passed = 0

function expect(peer: string, what: string, actual: unknown, expected: unknown) {
  if (Bun.deepEquals(actual, expected)) passed++
  else failures.push(`${peer}: ${what}\n    expected ${JSON.stringify(expected)}\n    got      ${JSON.stringify(actual)}`)
}

type Reply = { status: number; headers: Headers; body: Record<string, unknown> }

async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const raw = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...options.headers },
    ...(options.body !== undefined ? { body: raw } : {}),
  })
  const text = await response.text()
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(text)
  } catch {
    body = { unparsable: text.slice(0, 200) }
  }
  return { status: response.status, headers: response.headers, body } as Reply
}

/** Seeds users through the service's repository; two share a createdAt, so the _id tie-breaker matters. */
async function seed(database: Database): Promise<User[]> {
  const times = [0, 1, 2, 3, 3, 4, 5].map((s) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)))
  const seeded: User[] = []
  const passwordHash = await Bun.password.hash('correct horse battery staple')
  const names = ['Alice.W', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace']
  for (const [i, name] of names.entries()) {
    const clocked = createUsersRepository(database, { clock: () => times[i]! })
    const written = await clocked.create({
      username: name,
      email: `${name}@Example.com`,
      ...(i === 0 ? { displayName: 'Alice W.' } : {}),
      metadata: i === 0 ? { plan: 'pro', prefs: { theme: 'dark', tags: ['a', 'b'] } } : {},
      role: i === 1 ? 'moderator' : 'user',
      status: i === 2 ? 'disabled' : 'active',
      ...(i === 1 ? { passwordHash } : {}),
    })
    if (written.kind !== 'written') throw new Error(`seeding ${name}: ${written.kind}`)
    seeded.push(written.user)
  }
  return seeded
}

const defaultList = (limit: number): ListUsersQuery => ({ sort: '-createdAt', limit, includeTotal: false, deleted: false })

async function conform(peer: Peer, users: UsersRepository, seeded: User[]) {
  const name = peer.name
  const at = (method: string, path: string, options?: Parameters<typeof call>[3]) => call(peer.url, method, path, options)
  const [alice, bob] = seeded as [User, User]

  const health = await at('GET', '/healthz')
  expect(name, 'GET /healthz', [health.status, health.body], [200, { status: 'ok' }])

  // Reads: the same User as the service returns, with ETag "<version>".
  for (const user of seeded) {
    const got = await at('GET', `/v1/users/${user.id}`)
    expect(name, `GET /v1/users/${user.username}`, [got.status, got.headers.get('etag'), got.body], [200, '"1"', user])
  }
  expect(name, 'GET malformed id → 400', (await at('GET', '/v1/users/not-an-id')).status, 400)
  expect(name, 'GET unknown id → 404', (await at('GET', '/v1/users/0123456789abcdef01234567')).status, 404)
  const byName = await at('GET', '/v1/users/by-username/ALICE.w')
  expect(name, 'GET by-username, other case', [byName.status, byName.headers.get('etag'), byName.body], [200, '"1"', alice])
  expect(name, 'GET by-username unknown → 404', (await at('GET', '/v1/users/by-username/nobody')).status, 404)

  // Lists: the service's pages, walked with the peer's cursors; and the service's cursor accepted.
  let cursor: string | null = null
  let expectedPage = await users.list(defaultList(3))
  for (let page = 1; ; page++) {
    const got = await at('GET', `/v1/users?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
    expect(name, `list page ${page} items`, [got.status, got.body.items], [200, expectedPage.items])
    expect(name, `list page ${page} has a next cursor`, got.body.nextCursor !== null, expectedPage.nextCursor !== null)
    cursor = got.body.nextCursor as string | null
    if (!cursor || !expectedPage.nextCursor) break
    // The peers issue the service's cursor format, so the two are interchangeable.
    expect(name, `list page ${page} cursor is the service's`, cursor, expectedPage.nextCursor)
    const last = expectedPage.items.at(-1)!
    const next = encodeCursor(defaultList(3), { key: last.createdAt, id: last.id })
    expectedPage = await users.list({ ...defaultList(3), cursor: next })
  }
  const firstPage = await at('GET', '/v1/users')
  expect(name, 'list default limit 20', (firstPage.body.items as unknown[]).length, seeded.length)
  expect(name, 'list limit=0 → 400', (await at('GET', '/v1/users?limit=0')).status, 400)
  expect(name, 'list limit=² → 400', (await at('GET', `/v1/users?limit=${encodeURIComponent('²')}`)).status, 400)
  expect(name, 'list bad cursor → 400', (await at('GET', '/v1/users?cursor=bm9wZQ')).status, 400)

  // Create: 201, Location, ETag; stored so that the service reads the same user back.
  const createBody = { username: 'Zoe.Q', email: ' zoe@Example.com ', displayName: 'Zoe', metadata: { a: { b: 1 } } }
  const created = await at('POST', '/v1/users', { body: createBody })
  const zoe = created.body as User
  expect(name, 'POST → 201', created.status, 201)
  expect(
    name,
    'POST Location and ETag',
    [created.headers.get('location'), created.headers.get('etag')],
    [`/v1/users/${zoe.id}`, '"1"'],
  )
  expect(
    name,
    'POST body',
    { ...zoe, id: 'x', createdAt: 'x', updatedAt: 'x' },
    {
      id: 'x',
      username: 'Zoe.Q',
      email: 'zoe@Example.com',
      displayName: 'Zoe',
      metadata: { a: { b: 1 } },
      role: 'user',
      status: 'active',
      hasPassword: false,
      emailVerified: false,
      createdAt: 'x',
      updatedAt: 'x',
      version: 1,
    },
  )
  expect(
    name,
    'POST timestamps are ISO and equal',
    [zoe.createdAt === zoe.updatedAt, !Number.isNaN(Date.parse(zoe.createdAt))],
    [true, true],
  )
  expect(name, 'POST stored as the service reads it', await users.findById(zoe.id), zoe)
  expect(name, 'POST stored keys found by the service', (await users.findByEmail('ZOE@example.COM'))?.id, zoe.id)

  const withPassword = await at('POST', '/v1/users', {
    body: { username: 'pat', email: 'pat@example.com', password: 'hunter2hunter2' },
  })
  expect(
    name,
    'POST with password → hasPassword',
    [withPassword.status, withPassword.body.hasPassword, 'password' in withPassword.body],
    [201, true, false],
  )
  const credentials = await users.findCredentials('pat')
  expect(
    name,
    'password stored as argon2id the service verifies',
    await Bun.password.verify('hunter2hunter2', credentials?.passwordHash ?? 'x'),
    true,
  )

  const invalid: [string, unknown][] = [
    ['short username', { username: 'a', email: 'a@example.com' }],
    ['bad email', { username: 'valid1', email: 'not-an-email' }],
    ['unknown field', { username: 'valid2', email: 'v2@example.com', version: 7 }],
    ['bad role', { username: 'valid3', email: 'v3@example.com', role: 'root' }],
    ['bad metadata key', { username: 'valid4', email: 'v4@example.com', metadata: { 'a.b': 1 } }],
    ['short password', { username: 'valid5', email: 'v5@example.com', password: 'short' }],
    ['missing email', { username: 'valid6' }],
    ['malformed JSON', '{"username":'],
    ['username not a string', { username: 12345, email: 'v7@example.com' }],
    ['role null', { username: 'valid12', email: 'v12@example.com', role: null }],
    ['displayName null', { username: 'valid13', email: 'v13@example.com', displayName: null }],
    [
      'metadata 6 levels deep',
      { username: 'valid8', email: 'v8@example.com', metadata: { a: { b: { c: { d: { e: { f: 1 } } } } } } },
    ],
    ['metadata array in array', { username: 'valid9', email: 'v9@example.com', metadata: { a: [1, [2]] } }],
    ['metadata over 16 KiB', { username: 'valid10', email: 'v10@example.com', metadata: { a: 'é'.repeat(8200) } }],
    ['metadata __proto__ key', '{"username":"valid11","email":"v11@example.com","metadata":{"__proto__":{"x":1}}}'],
  ]
  for (const [what, body] of invalid) {
    const got = await at('POST', '/v1/users', { body })
    expect(
      name,
      `POST ${what} → 400 problem`,
      [got.status, got.headers.get('content-type')?.split(';')[0]],
      [400, 'application/problem+json'],
    )
  }
  const deepest = { a: { b: { c: { d: { e: 1 } } } } }
  const deep = await at('POST', '/v1/users', { body: { username: 'deep', email: 'deep@example.com', metadata: deepest } })
  expect(name, 'POST metadata 5 levels deep → 201', [deep.status, deep.body.metadata], [201, deepest])
  const notJson = await call(peer.url, 'POST', '/v1/users', {
    body: 'username=x',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  })
  expect(name, 'POST form-encoded → 415', notJson.status, 415)
  const dupName = await at('POST', '/v1/users', { body: { username: 'ALICE.w', email: 'other@example.com' } })
  expect(name, 'POST duplicate username → 409', [dupName.status, dupName.body.code], [409, 'username_taken'])
  const dupEmail = await at('POST', '/v1/users', { body: { username: 'other', email: 'BOB@example.com' } })
  expect(name, 'POST duplicate email → 409', [dupEmail.status, dupEmail.body.code], [409, 'email_taken'])

  // Update: If-Match guarded, one atomic update; metadata merged (RFC 7396).
  const patchPath = `/v1/users/${alice.id}`
  const patch = { displayName: 'Alice Wonder', metadata: { plan: null, prefs: { theme: 'light' }, seen: true } }
  const patched = await at('PATCH', patchPath, { body: patch, headers: { 'If-Match': '"1"' } })
  const expectedAlice = {
    ...alice,
    displayName: 'Alice Wonder',
    metadata: { prefs: { theme: 'light', tags: ['a', 'b'] }, seen: true },
    version: 2,
    updatedAt: patched.body.updatedAt,
  }
  expect(name, 'PATCH → 200 ETag "2"', [patched.status, patched.headers.get('etag')], [200, '"2"'])
  expect(name, 'PATCH body', patched.body, expectedAlice)
  expect(name, 'PATCH updatedAt moved', (patched.body.updatedAt as string) > alice.updatedAt, true)
  expect(name, 'PATCH stored as the service reads it', await users.findById(alice.id), expectedAlice)
  const stale = await at('PATCH', patchPath, { body: { displayName: 'Late' }, headers: { 'If-Match': '"1"' } })
  expect(
    name,
    'PATCH stale If-Match → 412 with current ETag',
    [stale.status, stale.headers.get('etag'), stale.body.code],
    [412, '"2"', 'precondition_failed'],
  )
  const weak = await at('PATCH', patchPath, { body: { displayName: 'Late' }, headers: { 'If-Match': 'W/"2"' } })
  expect(name, 'PATCH weak If-Match never matches → 412', [weak.status, weak.headers.get('etag')], [412, '"2"'])
  const removed = await at('PATCH', patchPath, { body: { displayName: null }, headers: { 'If-Match': '"2"' } })
  expect(
    name,
    'PATCH displayName null removes it',
    [removed.status, 'displayName' in removed.body, removed.body.version],
    [200, false, 3],
  )
  const renamed = await at('PATCH', patchPath, {
    body: { username: 'Alice.Two', email: ' alice2@Example.com ' },
    headers: { 'Content-Type': 'application/merge-patch+json' },
  })
  expect(
    name,
    'PATCH without If-Match, merge-patch+json',
    [renamed.status, renamed.body.username, renamed.body.version],
    [200, 'Alice.Two', 4],
  )
  expect(name, 'PATCH renamed: email trimmed', renamed.body.email, 'alice2@Example.com')
  expect(name, 'PATCH renamed: found by new username', (await users.findByUsername('alice.two'))?.id, alice.id)
  expect(name, 'PATCH renamed: found by new email', (await users.findByEmail('ALICE2@example.com'))?.id, alice.id)
  const takenName = await at('PATCH', patchPath, { body: { username: 'BOB' } })
  expect(name, 'PATCH to a taken username → 409', [takenName.status, takenName.body.code], [409, 'username_taken'])
  const takenEmail = await at('PATCH', patchPath, { body: { email: 'Carol@example.com' } })
  expect(name, 'PATCH to a taken email → 409', [takenEmail.status, takenEmail.body.code], [409, 'email_taken'])
  expect(name, 'PATCH {} → 400', (await at('PATCH', patchPath, { body: {} })).status, 400)
  expect(name, 'PATCH unknown field → 400', (await at('PATCH', patchPath, { body: { version: 9 } })).status, 400)
  expect(name, 'PATCH bad username → 400', (await at('PATCH', patchPath, { body: { username: '-x-' } })).status, 400)
  expect(name, 'PATCH bad role → 400', (await at('PATCH', patchPath, { body: { role: 'root' } })).status, 400)
  expect(name, 'PATCH blank displayName → 400', (await at('PATCH', patchPath, { body: { displayName: '   ' } })).status, 400)
  expect(
    name,
    'PATCH displayName with a control character → 400',
    (await at('PATCH', patchPath, { body: { displayName: 'a\u0007b' } })).status,
    400,
  )
  expect(name, 'PATCH status null → 400', (await at('PATCH', patchPath, { body: { status: null } })).status, 400)
  expect(name, 'PATCH email null → 400', (await at('PATCH', patchPath, { body: { email: null } })).status, 400)
  expect(name, 'PATCH malformed id → 400', (await at('PATCH', '/v1/users/xyz', { body: { displayName: 'X' } })).status, 400)
  const missing = await at('PATCH', '/v1/users/0123456789abcdef01234567', {
    body: { displayName: 'X' },
    headers: { 'If-Match': '"1"' },
  })
  expect(name, 'PATCH unknown id → 404', missing.status, 404)
  expect(name, 'failed PATCHes changed nothing', (await users.findById(alice.id))?.version, 4)
  const nested = await at('PATCH', patchPath, { body: { metadata: { seen: { at: 'noon' }, prefs: { tags: null } } } })
  const nestedMetadata = { prefs: { theme: 'light' }, seen: { at: 'noon' } }
  expect(
    name,
    'PATCH object over a stored non-object replaces it',
    [nested.status, nested.body.metadata, nested.body.version],
    [200, nestedMetadata, 5],
  )
  expect(name, 'PATCH object over a non-object stored', (await users.findById(alice.id))?.metadata, nestedMetadata)
  expect(name, 'bob untouched', await users.findById(bob.id), bob)
}

const peers: [string, () => Promise<string[]>][] = [
  ['express', ensureExpressPeer],
  ['flask', ensureFlaskPeer],
]
const commands = new Map<string, string[]>()
for (const [name, ensure] of peers) commands.set(name, await ensure())

const database = await startDatabase()
try {
  for (const [name] of peers) {
    // A database per peer, seeded the same way, so one peer's writes do not change the other's answers.
    const dbName = `peers_check_${name}`
    const dbConnection = await connectDatabase(database.uri, dbName)
    const users = createUsersRepository(dbConnection)
    await users.ensureIndexes()
    const seeded = await seed(dbConnection)
    const peer = await startPeer(name, commands.get(name)!, { MONGODB_URI: database.uri, MONGODB_DB: dbName })
    let printed = ''
    try {
      await conform(peer, users, seeded)
    } finally {
      printed = await peer.stop()
      await dbConnection.close()
    }
    // No request log, no warnings, no stack traces (a 500 would print one).
    expect(name, 'printed nothing while serving', printed, '')
  }
} finally {
  await database.stop()
}

console.log(`peers conformance: ${passed} passed, ${failures.length} failed`)
if (failures.length > 0) {
  console.error(failures.join('\n'))
  process.exit(1)
}
