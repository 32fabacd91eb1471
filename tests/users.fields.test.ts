import { describe, expect, it } from 'bun:test'
import { newUser, useTestApp } from './helpers/context'
import { expectProblem, pointers } from './helpers/problem'

/** The v1.1 profile fields (API.md "User: new fields"): emailVerified, givenName, familyName, externalId. */
const t = await useTestApp({ name: 'fields' })

const patch = (id: string, body: unknown, headers: Record<string, string> = {}) =>
  t.raw(`/v1/users/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json', ...headers },
    body: JSON.stringify(body),
  })
const post = (body: unknown) =>
  t.raw('/v1/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('emailVerified', () => {
  it('is false by default and can be set on create and by PATCH', async () => {
    const plain = await t.createUser()
    expect(plain.emailVerified).toBe(false)
    const verified = await t.createUser({ emailVerified: true })
    expect(verified.emailVerified).toBe(true)
    const res = await patch(plain.id, { emailVerified: true })
    expect(await res.json()).toMatchObject({ emailVerified: true, version: 2 })
  })

  it('becomes false when the email changes, unless the same patch sets it', async () => {
    const user = await t.createUser({ emailVerified: true })
    const moved = await patch(user.id, { email: `new-${user.email}` })
    expect(await moved.json()).toMatchObject({ email: `new-${user.email}`, emailVerified: false, version: 2 })
    const kept = await patch(user.id, { email: `again-${user.email}`, emailVerified: true })
    expect(await kept.json()).toMatchObject({ emailVerified: true, version: 3 })
  })

  it('stays true when only the letter case of the email changes', async () => {
    const user = await t.createUser({ emailVerified: true })
    const res = await patch(user.id, { email: user.email.toUpperCase() })
    expect(await res.json()).toMatchObject({ email: user.email.toUpperCase(), emailVerified: true, version: 2 })
  })

  it('changes nothing when the same email is sent again', async () => {
    const user = await t.createUser({ emailVerified: true })
    const res = await patch(user.id, { email: user.email })
    expect(await res.json()).toMatchObject({ emailVerified: true, version: 1 })
  })

  it('is refused when not a boolean', async () => {
    const problem = await expectProblem(await post(newUser({ emailVerified: 'yes' })), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:/emailVerified'])
  })
})

describe('givenName and familyName', () => {
  it('are trimmed, returned, and removed by null', async () => {
    const user = await t.createUser({ givenName: '  Alice ', familyName: 'Wong' })
    expect(user).toMatchObject({ givenName: 'Alice', familyName: 'Wong' })
    const res = await patch(user.id, { givenName: null, familyName: 'Wong-Li' })
    const changed = await res.json()
    expect(changed).toMatchObject({ familyName: 'Wong-Li', version: 2 })
    expect(changed).not.toHaveProperty('givenName')
    expect(await t.collection.findOne({ username: user.username })).not.toHaveProperty('givenName')
  })

  it.each([
    ['empty once trimmed', '   '],
    ['over 100 characters', 'n'.repeat(101)],
    ['a control character', 'Ali\u0000ce'],
    ['a bidirectional override', 'Ali\u202Ece'],
  ])('refuses a name that is %s', async (_, value) => {
    const problem = await expectProblem(await post(newUser({ givenName: value, familyName: value })), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:/familyName', 'body:/givenName'])
  })
})

describe('externalId', () => {
  it('is kept exactly, returned, and any number of users may have none', async () => {
    const id = `00u${crypto.randomUUID()}`
    const user = await t.createUser({ externalId: id })
    expect(user.externalId).toBe(id)
    await Promise.all([t.createUser(), t.createUser(), t.createUser()])
    // Another case is another id: compared exactly.
    expect((await t.createUser({ externalId: id.toUpperCase() })).externalId).toBe(id.toUpperCase())
  })

  it('is unique: 409 external_id_taken naming /externalId, on create and on PATCH', async () => {
    const id = `ext-${crypto.randomUUID()}`
    const owner = await t.createUser({ externalId: id })
    const problem = await expectProblem(await post(newUser({ externalId: id })), 409, 'external_id_taken')
    expect(problem.errors).toEqual([
      { location: 'body', pointer: '/externalId', code: 'external_id_taken', message: expect.any(String) },
    ])
    const other = await t.createUser()
    await expectProblem(await patch(other.id, { externalId: id }), 409, 'external_id_taken')
    await expectProblem(await patch(other.id, { externalId: id, password: 'long enough secret' }), 409, 'external_id_taken')
    expect((await t.users.findById(other.id))?.version).toBe(1)
    expect((await t.users.findById(owner.id))?.externalId).toBe(id)
  })

  it('is freed by null, for another user to take', async () => {
    const id = `ext-${crypto.randomUUID()}`
    const first = await t.createUser({ externalId: id })
    const removed = await (await patch(first.id, { externalId: null })).json()
    expect(removed).not.toHaveProperty('externalId')
    expect((await t.createUser({ externalId: id })).externalId).toBe(id)
  })

  it('lets exactly one of many concurrent creates take an id (the index decides)', async () => {
    const id = `race-${crypto.randomUUID()}`
    const results = await Promise.all(Array.from({ length: 8 }, () => post(newUser({ externalId: id }))))
    const statuses = results.map((res) => res.status).sort()
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409])
    expect(await t.collection.countDocuments({ externalId: id })).toBe(1)
  })

  it.each([
    ['empty', ''],
    ['over 255 characters', 'x'.repeat(256)],
    ['a leading space', ' 00u1'],
    ['a trailing newline', '00u1\n'],
    ['a control character', '00u\u00011'],
    ['a number', 42],
  ])('refuses an externalId that is %s', async (_, value) => {
    const problem = await expectProblem(await post(newUser({ externalId: value })), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:/externalId'])
  })
})

describe('lastSignInAt', () => {
  it('is absent until a sign-in, read-only, and a sign-in keeps version, ETag and updatedAt', async () => {
    const user = await t.createUser({ password: 'sign in with this' })
    expect(user).not.toHaveProperty('lastSignInAt')
    const read = await t.raw(`/v1/users/${user.id}`)
    const etag = read.headers.get('etag')!
    const signIn = await t.raw('/v1/auth/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: user.username, password: 'sign in with this' }),
    })
    expect(signIn.status).toBe(200)
    const after = await t.raw(`/v1/users/${user.id}`)
    expect(after.headers.get('etag')).toBe(etag)
    const body = await after.json()
    expect(body).toMatchObject({ version: 1, updatedAt: user.updatedAt, lastSignInAt: expect.any(String) })
    // An administrator's If-Match taken before the sign-in still holds.
    const res = await patch(user.id, { displayName: 'Changed after sign-in' }, { 'if-match': etag })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ version: 2, lastSignInAt: body.lastSignInAt })
    const problem = await expectProblem(
      await patch(user.id, { lastSignInAt: new Date().toISOString() }),
      400,
      'validation_failed',
    )
    expect(pointers(problem)).toEqual(['body:/lastSignInAt'])
  })
})
