import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { ObjectId } from 'mongodb'
import { connectDatabase } from '../src/db/mongo'
import { ScimError } from '../src/scim/scim.errors'
import { parseFilter } from '../src/scim/scim.filter'
import { escapeRegex, type ScimUserFilterFields, STORED_USER_FIELDS, scimUserQuery } from '../src/scim/scim.query'
import { hasStatus } from '../src/users/users.disabled.document'

// The translator's queries run on the test database server (the embedded FerretDB, or MongoDB
// with MONGODB_URI), on documents of the stored shape inserted directly: usernames and emails here
// carry every regex metacharacter, which the /v1 rules would not let in.
const NOW = new Date('2026-12-01T00:00:00.000Z')
const database = await connectDatabase(globalThis.testMongoUri, `test_scim_query_${crypto.randomUUID().slice(0, 8)}`)
const probe = database.db.collection('scim_query_probe')

const fields: ScimUserFilterFields = {
  ...STORED_USER_FIELDS,
  id: (hex) => ({ _id: new ObjectId(hex) }),
  // The users storage's rule for the status a user has now, as the repository's terms give it.
  active: (active) => hasStatus(active ? 'active' : 'disabled', NOW),
}

const KEYS = [
  'a.b',
  'axb',
  'a*b',
  'aab',
  'a+b',
  '(x)',
  'a\\b',
  '^start',
  'end$',
  '[x]',
  'x|y',
  "o'malley",
  'ab?',
  'a{2}',
  'é.ü',
  '.*',
]
type Doc = {
  _id: ObjectId
  usernameKey: string
  emailKey: string
  externalId?: string
  displayName?: string
  status: 'active' | 'disabled'
  disabledUntil?: Date
}
const docs: Doc[] = KEYS.map((key, i) => ({
  _id: new ObjectId(),
  usernameKey: key,
  emailKey: `${key}@example.com`,
  ...(i % 2 === 0 ? { externalId: `Ext-${key}`, displayName: `Name ${key.toUpperCase()}` } : {}),
  status: i % 3 === 0 ? 'disabled' : 'active',
  ...(i === 3 ? { disabledUntil: new Date('2026-11-30T00:00:00.000Z'), status: 'disabled' as const } : {}),
  ...(i === 6 ? { disabledUntil: new Date('2026-12-24T00:00:00.000Z'), status: 'disabled' as const } : {}),
}))

beforeAll(async () => {
  await probe.insertMany(docs)
})

afterAll(async () => {
  await database.db.dropDatabase()
  await database.close()
})

/** The usernames the filter selects on the server, sorted. */
async function select(filter: string): Promise<string[]> {
  const result = scimUserQuery(parseFilter(filter), fields)
  if (result.matches === 'none') return []
  const query = result.matches === 'all' ? {} : result.query
  const found = await probe.find(query).toArray()
  return found.map((doc) => doc.usernameKey as string).sort()
}

const expected = (predicate: (doc: Doc) => boolean) =>
  docs
    .filter(predicate)
    .map((doc) => doc.usernameKey)
    .sort()

const quote = (text: string) => JSON.stringify(text)

describe('SCIM filter to MongoDB query', () => {
  it('matches every probe literally with co, sw, ew and eq: no regex injection', async () => {
    const probes = ['.', '*', '+', '?', '(', ')', '[', ']', '{2}', '|', '^', '$', '\\', '.*', 'a.', '.b', "'", 'é.', 'A.B']
    for (const text of probes) {
      const lower = text.toLowerCase()
      expect({ text, co: await select(`userName co ${quote(text)}`) }).toEqual({
        text,
        co: expected((doc) => doc.usernameKey.includes(lower)),
      })
      expect({ text, sw: await select(`userName sw ${quote(text)}`) }).toEqual({
        text,
        sw: expected((doc) => doc.usernameKey.startsWith(lower)),
      })
      expect({ text, ew: await select(`emails.value ew ${quote(`${text}@example.com`)}`) }).toEqual({
        text,
        ew: expected((doc) => doc.emailKey.endsWith(`${lower}@example.com`)),
      })
    }
    expect(await select('userName eq ".*"')).toEqual(['.*'])
    // Control characters travel as \xHH: a NUL in a BSON regex pattern would not even serialize.
    expect(await select(String.raw`userName co "\u0000" or userName sw "\u001f" or userName ew "\u007f"`)).toEqual([])
    expect(await select('userName eq "A.B"')).toEqual(['a.b'])
  })

  it('compares displayName case-insensitively and externalId exactly', async () => {
    expect(await select('displayName eq "name a.b"')).toEqual(['a.b'])
    expect(await select('displayName co "e A+b"')).toEqual(['a+b'])
    expect(await select('externalId eq "Ext-a.b"')).toEqual(['a.b'])
    expect(await select('externalId eq "ext-a.b"')).toEqual([])
    expect(await select('externalId sw "Ext-a"')).toEqual(expected((doc) => doc.externalId?.startsWith('Ext-a') === true))
  })

  it('treats ne and not as the negation, absent attributes included', async () => {
    expect(await select('displayName ne "NAME A.B"')).toEqual(expected((doc) => doc.usernameKey !== 'a.b'))
    expect(await select('not (externalId pr)')).toEqual(expected((doc) => doc.externalId === undefined))
    expect(await select('externalId pr and not (userName sw "a")')).toEqual(
      expected((doc) => doc.externalId !== undefined && !doc.usernameKey.startsWith('a')),
    )
  })

  it('finds Entra and Okta lookups: userName, externalId, emails[type eq "work"].value', async () => {
    expect(await select('userName eq "X|Y"')).toEqual(['x|y'])
    expect(await select('emails[type eq "work"].value eq "A.B@EXAMPLE.COM"')).toEqual(['a.b'])
    expect(await select('emails[type eq "home"].value eq "a.b@example.com"')).toEqual([])
    expect(await select('emails[primary eq true and value sw "(x"]')).toEqual(['(x)'])
    expect(await select('userName eq "a.b" or externalId eq "Ext-axb" or externalId eq "Ext-aab"')).toEqual(['a.b'])
  })

  it('reads active through the hook: an expired disable counts as active', async () => {
    const activeNow = (doc: Doc) => doc.status === 'active' || (doc.disabledUntil !== undefined && doc.disabledUntil <= NOW)
    expect(await select('active eq true')).toEqual(expected(activeNow))
    expect(await select('active eq false')).toEqual(expected((doc) => !activeNow(doc)))
    expect(await select('active ne true')).toEqual(expected((doc) => !activeNow(doc)))
  })

  it('finds by id through the hook, and answers a malformed id with no match', async () => {
    const target = docs[5]!
    expect(await select(`id eq "${target._id.toHexString()}"`)).toEqual([target.usernameKey])
    expect(scimUserQuery(parseFilter('id eq "not-an-id"'), fields)).toEqual({ matches: 'none' })
    expect(scimUserQuery(parseFilter(`id eq "${target._id.toHexString().toUpperCase()}"`), fields)).toEqual({ matches: 'none' })
    expect(scimUserQuery(parseFilter('id ne "not-an-id"'), fields)).toEqual({ matches: 'all' })
  })

  it('says when a filter matches everyone or no one, instead of returning {}', () => {
    const result = (filter: string) => scimUserQuery(parseFilter(filter), fields)
    expect(result('active pr')).toEqual({ matches: 'all' })
    expect(result('not (active pr)')).toEqual({ matches: 'none' })
    expect(result('emails[type eq "other"]')).toEqual({ matches: 'none' })
    expect(result('userName pr')).toEqual({ matches: 'some', query: { usernameKey: { $exists: true } } })
    expect(result('emails[type eq "work"]')).toEqual({ matches: 'some', query: { emailKey: { $exists: true } } })
  })

  it('translates the common lookups to one indexable equality', () => {
    const query = (filter: string) => scimUserQuery(parseFilter(filter), fields)
    expect(query('userName eq "Alice@Contoso.com"')).toEqual({ matches: 'some', query: { usernameKey: 'alice@contoso.com' } })
    expect(query('emails[type eq "work"].value eq "Alice@Contoso.com"')).toEqual({
      matches: 'some',
      query: { emailKey: 'alice@contoso.com' },
    })
    expect(query('externalId eq "00ujl29u0le5T6Aj10h7"')).toEqual({
      matches: 'some',
      query: { externalId: '00ujl29u0le5T6Aj10h7' },
    })
  })

  it.each([
    ['userName gt "a"', "The operator 'gt' is not supported on 'userName'"],
    ['active eq "true"', "'active' compares with true or false"],
    ['active co true', "The operator 'co' is not supported on 'active'"],
    ['id co "665f"', "The operator 'co' is not supported on 'id'"],
    ['name.givenName eq "x"', "Filtering on 'name.givenName' is not supported"],
    ['meta.created gt "2020-01-01T00:00:00Z"', "Filtering on 'meta.created' is not supported"],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"', 'is not supported'],
    ['emails[foo eq "x"]', "'emails' has no sub-attribute 'foo'"],
    ['phoneNumbers[type eq "work"]', "Value filters apply to 'emails' only"],
    ['emails[primary eq "yes"]', "'emails.primary' compares with true or false"],
  ])('refuses %s as invalidFilter', (filter, message) => {
    let error: unknown
    try {
      scimUserQuery(parseFilter(filter), fields)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ScimError)
    expect((error as ScimError).scimType).toBe('invalidFilter')
    expect((error as ScimError).detail).toContain(message)
  })

  it('escapes control characters as \\xHH and every metacharacter with a backslash', () => {
    expect(escapeRegex('a.b*c\u0000d\u001fe\u007f')).toBe('a\\.b\\*c\\x00d\\x1fe\\x7f')
    expect(escapeRegex('^$\\.*+?()[]{}|/-')).toBe('\\^\\$\\\\\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|/-')
  })
})
