import { describe, expect, it } from 'bun:test'
import { ObjectId } from 'mongodb'
import { formatSummary, type ReportEntry } from '../src/migration/legacy.import'
import { parseSourceUri } from '../src/migration/legacy.source.repository'
import { useTestApp } from './helpers/context'
import { runImport, useSeedDatabase } from './helpers/legacy'

const seed = await useSeedDatabase('import')

/** Ids in creation order: the import decides "first" by `_id` order, as MongoEngine's ObjectIds grow. */
const ids = Array.from({ length: 20 }, () => new ObjectId())
const id = (n: number) => ids[n]!
const hex = (n: number) => id(n).toHexString()

// Plain-text passwords of the seed; none may appear anywhere after the import.
const PASSWORDS = ['wonderland-1', 'correct horse', 'sh0rt', 'bobs-password']

/** The Flask service's `user` collection, with the hostile cases the issue lists. */
const hostile = [
  { _id: id(0), username: 'alice', email: 'alice@example.com', password: 'wonderland-1', role: 'user', is_active: true },
  { _id: id(1), username: 'ALICE', email: 'other@example.com', password: 'bobs-password' }, // duplicate username by case
  { _id: id(2), username: 'carol', email: 'Alice@Example.COM' }, // duplicate email by case
  { _id: id(3), username: 'dave' }, // missing email
  { _id: id(4), username: 12345, email: 'e@example.com' }, // non-string username
  { _id: id(5), username: 'frank', email: 'frank@example.com', is_active: 'yes' }, // non-boolean is_active
  { _id: id(6), username: 'grace', email: 'grace@example.com', password: 'sh0rt' }, // too short for our rules
  { _id: id(7), username: 'heidi', email: 'heidi@example.com', role: 'Admin ', is_active: false },
  { _id: id(8), username: 'ivan', email: 'ivan@example.com', role: 'superuser' }, // no such role here
  { _id: 'legacy-judy', username: 'judy', email: 'judy@example.com', password: null }, // string _id, null password
  { _id: id(10), username: 'ken', email: 'ken@example.com' }, // taken in the target (by case)
  { _id: id(11), username: 'laura', email: 'taken@example.com' }, // email taken in the target
  { _id: 42, username: 'mallory', email: 'mallory@example.com', password: 'correct horse' }, // number _id
  { _id: id(13), username: 'nina', email: 'not-an-email' }, // invalid: does not own 'nina'...
  { _id: id(14), username: 'Nina', email: 'nina@example.com' }, // ...so this one does
  { _id: id(15), username: 'oscar', email: 'oscar@example.com', _cls: 'User', is_admin: true, version: 99 }, // extra fields
]

const t = await useTestApp({ name: 'legacy_import' })
await seed.db.collection('user').insertMany(hostile as never[])
const ken = await t.createUser({ username: 'KEN', email: 'ken.api@example.com' })
const takenEmail = await t.createUser({ username: 'laura.api', email: 'TAKEN@example.com' })

/** Which fields each invalid document is refused for (missing email, number as username, ...). */
const expectedPointers: Record<string, string[] | undefined> = {
  [hex(3)]: ['/email'],
  [hex(4)]: ['/username'],
  [hex(5)]: ['/is_active'],
  [hex(6)]: ['/password'],
  [hex(8)]: ['/role'],
  [hex(13)]: ['/email'],
}

const sortReport = (entries: ReportEntry[]) => [...entries].sort((a, b) => a.sourceId.localeCompare(b.sourceId))

const first = await runImport(seed.db, t.db)

describe('bun run import:seed: the hostile seed', () => {
  it('imports the valid, unique documents and counts everything else by reason', () => {
    expect(first.summary).toMatchObject({
      read: 16,
      imported: 6,
      withPassword: 2,
      alreadyImported: 0,
      resumed: false,
      skipped: {
        invalid_document: 6,
        duplicate_username_in_source: 1,
        duplicate_email_in_source: 1,
        username_taken: 1,
        email_taken: 1,
      },
    })
    expect(first.hashes).toBe(2)
  })

  it('writes one report line per skipped document: source id, reason, the other id, and no value', () => {
    const lines = sortReport(first.report).map(({ problems, ...entry }) => ({
      ...entry,
      pointers: problems?.map((p) => p.pointer),
    }))
    expect(lines).toEqual(
      sortReport([
        { sourceId: hex(1), reason: 'duplicate_username_in_source', otherId: hex(0) },
        { sourceId: hex(2), reason: 'duplicate_email_in_source', otherId: hex(0) },
        { sourceId: hex(3), reason: 'invalid_document' },
        { sourceId: hex(4), reason: 'invalid_document' },
        { sourceId: hex(5), reason: 'invalid_document' },
        { sourceId: hex(6), reason: 'invalid_document' },
        { sourceId: hex(8), reason: 'invalid_document' },
        { sourceId: hex(10), reason: 'username_taken', otherId: ken.id },
        { sourceId: hex(11), reason: 'email_taken', otherId: takenEmail.id },
        { sourceId: hex(13), reason: 'invalid_document' },
      ]).map((entry) => ({ ...entry, pointers: expectedPointers[entry.sourceId] })),
    )
  })

  it('stores the users as the API would, keeping ObjectIds, with hashed passwords', async () => {
    const res = await t.api.v1.users.$get({ query: { sort: 'username', limit: '100' } })
    expect(res.status).toBe(200)
    if (res.status !== 200) return
    const { items } = await res.json()
    const imported = items.filter((u) => u.id !== ken.id && u.id !== takenEmail.id)
    expect(imported.map((u) => [u.username, u.email, u.role, u.status, u.hasPassword])).toEqual([
      ['alice', 'alice@example.com', 'user', 'active', true],
      ['heidi', 'heidi@example.com', 'admin', 'disabled', false],
      ['judy', 'judy@example.com', 'user', 'active', false],
      ['mallory', 'mallory@example.com', 'user', 'active', true],
      ['Nina', 'nina@example.com', 'user', 'active', false],
      ['oscar', 'oscar@example.com', 'user', 'active', false],
    ])
    const alice = imported.find((u) => u.username === 'alice')!
    expect(alice.id).toBe(hex(0))
    expect(alice.createdAt).toBe(id(0).getTimestamp().toISOString())
    expect(alice.version).toBe(1)
    expect(alice.metadata).toEqual({})
    // Non-ObjectId seed ids get a stable derived ObjectId.
    expect(imported.find((u) => u.username === 'judy')!.id).toMatch(/^[0-9a-f]{24}$/)
    const verified = await t.api.v1.auth.verify.$post({ json: { login: 'Alice', password: 'wonderland-1' } })
    expect(verified.status).toBe(200)
    const mallory = await t.api.v1.auth.verify.$post({ json: { login: 'mallory', password: 'correct horse' } })
    expect(mallory.status).toBe(200)
  })

  it('copies no other seed field and no plain-text password anywhere', async () => {
    const stored = await t.collection.find({ username: 'oscar' }).toArray()
    expect(Object.keys(stored[0]!).sort()).toEqual(
      [
        '_id',
        'createdAt',
        'email',
        'emailKey',
        'emailVerified',
        // The outbox: the import's user.created event, built from the stored user (never a seed field).
        'eventBase',
        'metadata',
        'outboxSince',
        'pendingEvents',
        'role',
        'status',
        'updatedAt',
        'username',
        'usernameKey',
        'version',
      ].sort(),
    )
    const everything =
      JSON.stringify(await t.db.collection('users').find().toArray()) + JSON.stringify(first.report) + first.progress
    for (const password of PASSWORDS) expect(everything).not.toContain(password)
    const alice = await t.collection.findOne({ username: 'alice' })
    expect(alice?.passwordHash).toStartWith('$argon2id$v=19$m=65536,t=2,p=1$')
  })

  it('prints a progress line with count, rate and ETA, and a summary table', () => {
    expect(first.progress).toMatch(/import \[#+\] 16\/16 100% [\d,]+\/s ETA -/)
    const table = formatSummary(first.summary)
    expect(table).toContain('| read ')
    expect(table).toMatch(/\| skipped: invalid_document\s+\|\s+6 \|/)
    expect(table).toMatch(/\| users\/s/)
  })

  it('imports nothing twice: a second run starts after the checkpoint', async () => {
    const second = await runImport(seed.db, t.db)
    expect(second.summary).toMatchObject({ read: 0, imported: 0, alreadyImported: 0, resumed: true })
    expect(second.report).toEqual([])
    expect(await t.collection.countDocuments()).toBe(8)
  })

  it('--restart re-reads everything, recognises what is there, and reports the same skips', async () => {
    const again = await runImport(seed.db, t.db, { restart: true })
    expect(again.summary).toMatchObject({ read: 16, imported: 0, alreadyImported: 6 })
    // Users already there are recognised before their password is hashed again.
    expect(again.hashes).toBe(0)
    expect(sortReport(again.report)).toEqual(sortReport(first.report))
    expect(await t.collection.countDocuments()).toBe(8)
  })

  it('picks up a document added to the source since the last run', async () => {
    await seed.db.collection('user').insertOne({ _id: new ObjectId(), username: 'peggy', email: 'peggy@example.com' })
    const later = await runImport(seed.db, t.db)
    expect(later.summary).toMatchObject({ read: 1, imported: 1, alreadyImported: 0 })
    // The bar counts what is left after the checkpoint, not the whole source.
    expect(later.progress).toMatch(/import \[#+\] 1\/1 100%/)
    expect(await t.collection.countDocuments()).toBe(9)
  })
})

describe('--from', () => {
  it('splits the URI into server, database and collection, and names the source without credentials', () => {
    expect(parseSourceUri('mongodb://app:s3cret@flask-db:27017/flaskapp/user?authSource=admin')).toEqual({
      uri: 'mongodb://app:s3cret@flask-db:27017/?authSource=admin',
      db: 'flaskapp',
      collection: 'user',
      name: 'flask-db:27017/flaskapp/user',
    })
    expect(parseSourceUri('mongodb+srv://cluster.example.net/legacy')).toMatchObject({ db: 'legacy', collection: 'user' })
    expect(() => parseSourceUri('mongodb://app:s3cret@flask-db:27017')).toThrow('mongodb://***@flask-db:27017')
  })

  it('never echoes a password that keeps the URI from parsing (a "/" or "@" in it), nor one without a scheme', () => {
    for (const [from, shown] of [
      ['mongodb://importer:ab/cd+S3CRET@old-db:27017/flask/user', 'mongodb://***@old-db:27017/flask/user'],
      ['mongodb://importer:p@ss/S3CRET@old-db/flask', 'mongodb://***@old-db/flask'],
      ['mongodb://importer:ab/cd?S3CRET@old-db/flask', 'mongodb://***@old-db/flask'],
      ['importer:S3CRET@old-db/flask', '***@old-db/flask'],
    ] as const) {
      let message = ''
      try {
        parseSourceUri(from)
      } catch (error) {
        message = (error as Error).message
      }
      expect(message).toContain(`(got ${shown})`)
      expect(message).not.toContain('S3CRET')
    }
  })
})
