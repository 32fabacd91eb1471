import { describe, expect, it } from 'bun:test'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import type { UsersRepository } from '../src/users/users.model'
import { newUser, useTestApp } from './helpers/context'
import { apiKey, CORE_USER, ENTERPRISE_USER, expectScimError, type ScimUserBody, scimClient, scimUser } from './helpers/scim'

/**
 * The SCIM Users resource (RFC 7643 §4.1, RFC 7644 §3): create, read, list with filters and
 * paging, replace, patch, delete, on the users service with the mapping of API.md.
 */
const scim = apiKey('identity-provider', ['scim'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])
const authenticator = createAuthenticator({ apiKeys: [scim.entry, admin.entry], jwt: undefined })
const t = await useTestApp({ name: 'scim_users', deps: { authenticator, config: testConfig({ userRetentionDays: 30 }) } })
const api = scimClient(t.raw, scim.key)
const stored = (username: string) => t.collection.findOne({ usernameKey: username.toLowerCase() })

async function created(overrides: Record<string, unknown> = {}): Promise<ScimUserBody> {
  const res = await api.post('/Users', scimUser(overrides))
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as ScimUserBody
}

describe('POST /scim/v2/Users', () => {
  it('creates the user: 201, Location, ETag W/"1", the resource with its meta', async () => {
    const body = scimUser({
      externalId: '00ujl29u0le5T6Aj10h7',
      name: { givenName: 'Alice', familyName: 'Wong', middleName: 'not stored' },
      displayName: 'Alice W.',
    })
    const res = await api.post('/Users', body)
    expect(res.status).toBe(201)
    const user = (await res.json()) as ScimUserBody
    expect(res.headers.get('location')).toBe(`/scim/v2/Users/${user.id}`)
    expect(res.headers.get('etag')).toBe('W/"1"')
    expect(user).toEqual({
      schemas: [CORE_USER],
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      externalId: '00ujl29u0le5T6Aj10h7',
      userName: body.userName,
      name: { givenName: 'Alice', familyName: 'Wong' },
      displayName: 'Alice W.',
      emails: [{ value: body.emails[0]!.value, type: 'work', primary: true }],
      active: true,
      meta: {
        resourceType: 'User',
        created: expect.any(String),
        lastModified: expect.any(String),
        location: `/scim/v2/Users/${user.id}`,
        version: 'W/"1"',
      },
    })
    // The same user on /v1: the mapping of API.md.
    const v1 = await t.raw(`/v1/users/${user.id}`, { headers: { authorization: `Bearer ${admin.key}` } })
    expect(await v1.json()).toMatchObject({
      username: body.userName,
      email: body.emails[0]!.value,
      givenName: 'Alice',
      familyName: 'Wong',
      displayName: 'Alice W.',
      externalId: '00ujl29u0le5T6Aj10h7',
      status: 'active',
      role: 'user',
    })
  })

  it('stores the primary email, else the work one, else the first', async () => {
    const pick = async (emails: object[]) => (await created({ emails })).emails[0]!.value
    const n = crypto.randomUUID().slice(0, 8)
    expect(
      await pick([
        { value: `home.${n}@example.com`, type: 'home' },
        { value: `primary.${n}@example.com`, type: 'other', primary: true },
      ]),
    ).toBe(`primary.${n}@example.com`)
    expect(
      await pick([
        { value: `home2.${n}@example.com`, type: 'home' },
        { value: `work.${n}@example.com`, type: 'Work' },
      ]),
    ).toBe(`work.${n}@example.com`)
    expect(await pick([{ value: `first.${n}@example.com` }])).toBe(`first.${n}@example.com`)
  })

  it('takes active false as a disabled user, and "False" as a string too', async () => {
    expect((await created({ active: false })).active).toBe(false)
    const user = await created({ active: 'False' })
    expect(user.active).toBe(false)
    expect((await stored(user.userName))?.status).toBe('disabled')
  })

  it('stores the password as a hash and never returns it', async () => {
    const user = await created({ password: 'correct horse battery' })
    expect(user).not.toHaveProperty('password')
    expect((await stored(user.userName))?.passwordHash).toStartWith('$argon2id$')
  })

  it('accepts and ignores what it does not store: title, phoneNumbers, addresses, roles, the enterprise extension, id, meta, groups', async () => {
    const body = scimUser({
      schemas: [CORE_USER, ENTERPRISE_USER],
      id: '000000000000000000000000',
      meta: { resourceType: 'User', version: 'W/"9"' },
      groups: [{ value: 'g1' }],
      title: 'Engineer',
      nickName: 'Babs',
      locale: 'en-US',
      phoneNumbers: [{ value: '+1 555 0100', type: 'work' }],
      addresses: [{ streetAddress: '1 Main St', type: 'work' }],
      roles: [{ value: 'admin' }],
      [ENTERPRISE_USER]: { employeeNumber: '42', manager: { value: 'x' } },
    })
    const res = await api.post('/Users', body)
    expect(res.status).toBe(201)
    const user = (await res.json()) as ScimUserBody
    expect(user.id).not.toBe('000000000000000000000000')
    expect(user.meta.version).toBe('W/"1"')
    const doc = await stored(body.userName)
    expect(doc?.role).toBe('user')
    expect(Object.keys(doc ?? {}).filter((key) => /title|phone|address|employee|nick|locale|group/i.test(key))).toEqual([])
  })

  it('reads attribute names case-insensitively, also under the core schema URN', async () => {
    const n = crypto.randomUUID().slice(0, 8)
    const res = await api.post('/Users', {
      SCHEMAS: [CORE_USER],
      USERNAME: `case.${n}`,
      Emails: [{ VALUE: `case.${n}@example.com` }],
      [CORE_USER]: { displayName: 'Under the URN', Name: { GIVENNAME: 'G' } },
    })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ userName: `case.${n}`, displayName: 'Under the URN', name: { givenName: 'G' } })
  })

  it.each([
    ['userName', (u: ScimUserBody) => ({ userName: u.userName.toUpperCase() })],
    ['emails', (u: ScimUserBody) => ({ emails: [{ value: u.emails[0]!.value.toUpperCase(), primary: true }] })],
    ['externalId', (u: ScimUserBody) => ({ externalId: u.externalId })],
  ])('refuses a taken %s with 409 uniqueness, storing nothing', async (_, taken) => {
    const first = await created({ externalId: crypto.randomUUID() })
    const before = await t.collection.countDocuments()
    const error = await expectScimError(await api.post('/Users', scimUser(taken(first))), 409, 'uniqueness')
    expect(error.detail).not.toContain(first.userName)
    expect(await t.collection.countDocuments()).toBe(before)
  })

  it.each([
    ['no userName', { userName: undefined }, 'invalidValue'],
    ['no emails', { emails: undefined }, 'invalidValue'],
    ['an empty emails list', { emails: [] }, 'invalidValue'],
    ['a userName with a space', { userName: 'has space' }, 'invalidValue'],
    ['a userName that is not a string', { userName: 42 }, 'invalidValue'],
    ['an address that is not one', { emails: [{ value: 'not-an-address', primary: true }] }, 'invalidValue'],
    ['a displayName of 101 characters', { displayName: 'x'.repeat(101) }, 'invalidValue'],
    ['a password of 7 characters', { password: 'short12' }, 'invalidValue'],
    ['an externalId with a control character', { externalId: 'a\u0000b' }, 'invalidValue'],
    ['active that is no boolean', { active: 'maybe' }, 'invalidValue'],
    ['schemas without the User schema', { schemas: ['urn:example:Other'] }, 'invalidValue'],
    ['an attribute of no schema', { favouriteColour: 'blue' }, 'invalidSyntax'],
    ['an extension this service does not know', { 'urn:example:custom:2.0:User': { a: 1 } }, 'invalidSyntax'],
    ['an attribute given twice in two cases', { displayName: 'a', DisplayName: 'b' }, 'invalidSyntax'],
    ['a sub-attribute name has not', { name: { givenName: 'a', nickname: 'b' } }, 'invalidValue'],
    ['a dotted key', { 'name.givenName': 'a' }, 'invalidSyntax'],
  ])('refuses %s with a SCIM 400, storing nothing', async (_, overrides, scimType) => {
    const body = scimUser(overrides)
    const error = await expectScimError(await api.post('/Users', body), 400, scimType)
    expect(error.detail).toBeString()
    if (typeof body.userName === 'string') expect(await stored(body.userName)).toBeNull()
  })
})

describe('GET /scim/v2/Users/{id}', () => {
  it('returns the user with its ETag; 304 while If-None-Match names its version, weak or strong', async () => {
    const user = await created()
    const res = await api.get(`/Users/${user.id}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe('W/"1"')
    expect(await res.json()).toEqual(user)
    expect((await api.get(`/Users/${user.id}`, { 'if-none-match': 'W/"1"' })).status).toBe(304)
    expect((await api.get(`/Users/${user.id}`, { 'if-none-match': '"1"' })).status).toBe(304)
    expect((await api.get(`/Users/${user.id}`, { 'if-none-match': 'W/"2"' })).status).toBe(200)
  })

  it.each([
    ['an unknown id', '0123456789abcdef01234567'],
    ['an id of another form', 'not-an-id'],
    ['an upper-case id', 'ABCDEF0123456789ABCDEF01'],
  ])('answers %s with a SCIM 404', async (_, id) => {
    await expectScimError(await api.get(`/Users/${id}`), 404)
  })

  it('shows only the attributes asked for (with schemas and id), or all but the excluded ones', async () => {
    const user = await created({ name: { givenName: 'G', familyName: 'F' }, displayName: 'D' })
    const only = await (await api.get(`/Users/${user.id}?attributes=userName,NAME.givenName,emails.value`)).json()
    expect(only).toEqual({
      schemas: [CORE_USER],
      id: user.id,
      userName: user.userName,
      name: { givenName: 'G' },
      emails: [{ value: user.emails[0]!.value }],
    })
    const without = (await (
      await api.get(`/Users/${user.id}?excludedAttributes=displayName,name.familyName,meta,id`)
    ).json()) as Record<string, unknown>
    expect(Object.keys(without)).toEqual(['schemas', 'id', 'userName', 'name', 'emails', 'active'])
    expect(without.name).toEqual({ givenName: 'G' })
    const urn = await (await api.get(`/Users/${user.id}?attributes=${encodeURIComponent(`${CORE_USER}:displayName`)}`)).json()
    expect(urn).toEqual({ schemas: [CORE_USER], id: user.id, displayName: 'D' })
    await expectScimError(
      await api.get(`/Users/${user.id}?attributes=${encodeURIComponent('emails[type eq "work"]')}`),
      400,
      'invalidValue',
    )
  })
})

describe('GET /scim/v2/Users', () => {
  const list = async (query: string) => {
    const res = await api.get(`/Users?${query}`)
    expect(res.status).toBe(200)
    return (await res.json()) as { totalResults: number; startIndex: number; itemsPerPage: number; Resources: ScimUserBody[] }
  }
  const filter = (text: string) => `filter=${encodeURIComponent(text)}`

  it('answers a ListResponse even when nothing matches', async () => {
    expect(await list(filter('userName eq "nobody-at-all"'))).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    } as never)
  })

  it('finds by userName case-insensitively, by externalId exactly, by the work email, by active', async () => {
    const externalId = `Ext-${crypto.randomUUID()}`
    const user = await created({ externalId, active: false, displayName: `Disp ${externalId}` })
    const ids = async (text: string) => (await list(filter(text))).Resources.map((found) => found.id)
    expect(await ids(`userName eq "${user.userName.toUpperCase()}"`)).toEqual([user.id])
    expect(await ids(`externalId eq "${externalId}"`)).toEqual([user.id])
    expect(await ids(`externalId eq "${externalId.toLowerCase()}"`)).toEqual([])
    expect(await ids(`emails[type eq "work"].value eq "${user.emails[0]!.value.toUpperCase()}"`)).toEqual([user.id])
    expect(await ids(`emails.value sw "${user.emails[0]!.value.slice(0, 12)}" and active eq false`)).toEqual([user.id])
    expect(await ids(`displayName co "${externalId.toLowerCase()}" and not (active eq true)`)).toEqual([user.id])
    expect(await ids(`id eq "${user.id}" or userName eq "nobody"`)).toEqual([user.id])
  })

  it('pages with startIndex and count, in one stable order (creation, then id), with the total on every page', async () => {
    const tag = `page${crypto.randomUUID().slice(0, 8)}`
    const users = []
    for (let i = 0; i < 5; i++)
      users.push(await created({ userName: `${tag}.${i}@example.com`, emails: [{ value: `${tag}.${i}@example.com` }] }))
    const page = (startIndex: number, count: number) =>
      list(`${filter(`userName sw "${tag}."`)}&startIndex=${startIndex}&count=${count}`)
    const first = await page(1, 2)
    expect(first).toMatchObject({ totalResults: 5, startIndex: 1, itemsPerPage: 2 })
    expect(first.Resources.map((u) => u.id)).toEqual([users[0]!.id, users[1]!.id])
    expect((await page(3, 2)).Resources.map((u) => u.id)).toEqual([users[2]!.id, users[3]!.id])
    expect(await page(5, 2)).toMatchObject({ totalResults: 5, itemsPerPage: 1, Resources: [{ id: users[4]!.id }] })
    expect(await page(9, 2)).toMatchObject({ totalResults: 5, startIndex: 9, itemsPerPage: 0, Resources: [] })
    // RFC 7644 §3.4.2.4: below 1 is 1, a negative count is 0, and 0 gives the total only.
    expect(await page(0, 1)).toMatchObject({ startIndex: 1, Resources: [{ id: users[0]!.id }] })
    expect(await page(-5, -1)).toMatchObject({ totalResults: 5, startIndex: 1, itemsPerPage: 0, Resources: [] })
  })

  it('answers at most 100 per page, however many are asked for', async () => {
    const page = await list('count=100000')
    expect(page.itemsPerPage).toBeLessThanOrEqual(100)
    expect(page.Resources.length).toBe(page.itemsPerPage)
  })

  it('never lists deleted users', async () => {
    const user = await created()
    expect((await api.delete(`/Users/${user.id}`)).status).toBe(204)
    expect((await list(filter(`userName eq "${user.userName}"`))).totalResults).toBe(0)
  })

  it.each([
    ['an attribute that is not filterable', 'title eq "x"'],
    ['an operator that is not supported', 'userName gt "a"'],
    ['an injection of an always-true term', 'userName eq "a" or 1 eq 1'],
    ['a value of the wrong type', 'active eq "yes"'],
    ['a syntax error', 'userName eq'],
    ['a filter of more than 1024 characters', `userName eq "${'a'.repeat(1100)}"`],
  ])('refuses %s with a SCIM 400 invalidFilter', async (_, text) => {
    await expectScimError(await api.get(`/Users?${filter(text)}`), 400, 'invalidFilter')
  })

  it.each(['startIndex=one', 'count=1.5', 'count='])('refuses %s with a SCIM 400 invalidValue', async (query) => {
    await expectScimError(await api.get(`/Users?${query}`), 400, 'invalidValue')
  })
})

describe('PUT /scim/v2/Users/{id}', () => {
  it('replaces the user: what it leaves out is cleared, but not the password and not active', async () => {
    const user = await created({
      displayName: 'D',
      externalId: crypto.randomUUID(),
      name: { givenName: 'G' },
      password: 'a good password',
    })
    await api.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'active', value: false }])
    const res = await api.put(`/Users/${user.id}`, {
      schemas: [CORE_USER],
      userName: user.userName,
      emails: user.emails,
      name: { familyName: 'F' },
    })
    expect(res.status).toBe(200)
    const replaced = (await res.json()) as ScimUserBody
    expect(replaced).toMatchObject({
      userName: user.userName,
      name: { familyName: 'F' },
      active: false,
      meta: { version: 'W/"3"' },
    })
    expect(replaced).not.toHaveProperty('displayName')
    expect(replaced).not.toHaveProperty('externalId')
    expect(res.headers.get('etag')).toBe('W/"3"')
    expect((await stored(user.userName))?.passwordHash).toStartWith('$argon2id$')
  })

  it('ignores the read-only attributes it carries back (id, meta, groups), as Okta sends them', async () => {
    const user = await created()
    const res = await api.put(`/Users/${user.id}`, { ...user, id: '0123456789abcdef01234567', groups: [], displayName: 'New' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id: user.id, displayName: 'New' })
  })

  it('honours If-Match, weakly: 412 with the current ETag when stale', async () => {
    const user = await created()
    const body = { ...user, displayName: 'Guarded' }
    const stale = await api.put(`/Users/${user.id}`, body, { 'if-match': 'W/"7"' })
    expect(stale.headers.get('etag')).toBe('W/"1"')
    await expectScimError(stale, 412)
    expect((await api.put(`/Users/${user.id}`, body, { 'if-match': 'W/"1"' })).status).toBe(200)
    expect((await api.put(`/Users/${user.id}`, { ...body, displayName: 'Again' }, { 'if-match': '"2"' })).status).toBe(200)
  })

  it('answers 404 for an unknown user, 409 uniqueness for a taken userName', async () => {
    const [one, two] = [await created(), await created()]
    await expectScimError(await api.put('/Users/0123456789abcdef01234567', one), 404)
    await expectScimError(await api.put(`/Users/${two.id}`, { ...two, userName: one.userName }), 409, 'uniqueness')
  })
})

describe('PATCH /scim/v2/Users/{id}', () => {
  it('answers 200 with the resource and its new ETag', async () => {
    const user = await created()
    const res = await api.patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'displayName', value: 'Patched' }])
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe('W/"2"')
    expect(await res.json()).toMatchObject({ id: user.id, displayName: 'Patched', meta: { version: 'W/"2"' } })
  })

  it('changes nothing, not even the version, when the operations change nothing stored', async () => {
    const user = await created({ displayName: 'Same' })
    const res = await api.patch(`/Users/${user.id}`, [
      { op: 'replace', path: 'displayName', value: 'Same' },
      { op: 'add', path: 'title', value: 'ignored' },
    ])
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe('W/"1"')
  })

  it('disables and deprovisions an administrator: the scope scim carries users:admin authority', async () => {
    const res = await t.raw('/v1/users', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(newUser({ role: 'admin' })),
    })
    const { id } = (await res.json()) as { id: string }
    expect((await api.patch(`/Users/${id}`, [{ op: 'replace', value: { active: false } }])).status).toBe(200)
    expect((await api.delete(`/Users/${id}`)).status).toBe(204)
  })

  it('removes the password (remove password): the user then has none', async () => {
    const user = await created({ password: 'a good password' })
    expect((await api.patch(`/Users/${user.id}`, [{ op: 'remove', path: 'password' }])).status).toBe(200)
    expect(await stored(user.userName)).not.toHaveProperty('passwordHash')
  })

  it('honours If-Match: 412 with the current ETag when stale, and nothing written', async () => {
    const user = await created()
    const res = await api.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'displayName', value: 'X' }], {
      'if-match': 'W/"5"',
    })
    expect(res.headers.get('etag')).toBe('W/"1"')
    await expectScimError(res, 412)
    expect((await stored(user.userName))?.version).toBe(1)
    expect(
      (await api.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'displayName', value: 'X' }], { 'if-match': '*' })).status,
    ).toBe(200)
  })

  it('refuses an If-Match that is no list of entity tags with a SCIM 400', async () => {
    const user = await created()
    await expectScimError(
      await api.patch(`/Users/${user.id}`, [{ op: 'remove', path: 'displayName' }], { 'if-match': 'W/3' }),
      400,
      'invalidValue',
    )
  })

  it.each([
    ['an unknown op', [{ op: 'move', path: 'displayName', value: 'x' }], 'invalidSyntax'],
    ['replace without a value', [{ op: 'replace', path: 'displayName' }], 'invalidSyntax'],
    ['remove without a path', [{ op: 'remove' }], 'noTarget'],
    ['a path to no attribute', [{ op: 'replace', path: 'favouriteColour', value: 'x' }], 'invalidPath'],
    ['a malformed path', [{ op: 'replace', path: 'name..givenName', value: 'x' }], 'invalidPath'],
    [
      'a filter that matches no email',
      [{ op: 'replace', path: 'emails[value eq "other@example.com"].value', value: 'a@b.co' }],
      'noTarget',
    ],
    [
      'a path filter with an unsupported operator',
      [{ op: 'replace', path: 'emails[value gt "a"].value', value: 'a@b.co' }],
      'invalidFilter',
    ],
    ['a change of id', [{ op: 'replace', path: 'id', value: '0123456789abcdef01234567' }], 'mutability'],
    ['a change of meta', [{ op: 'replace', path: 'meta.version', value: 'W/"9"' }], 'mutability'],
    ['removing userName', [{ op: 'remove', path: 'userName' }], 'invalidValue'],
    ['removing emails', [{ op: 'remove', path: 'emails' }], 'invalidValue'],
    ['removing active', [{ op: 'remove', path: 'active' }], 'invalidValue'],
    ['a value of the wrong type', [{ op: 'replace', path: 'active', value: 7 }], 'invalidValue'],
    ['a value the users rules refuse', [{ op: 'replace', path: 'displayName', value: '   ' }], 'invalidValue'],
  ])('refuses %s with a SCIM 400, changing nothing', async (_, operations, scimType) => {
    const user = await created({ displayName: 'Kept' })
    await expectScimError(await api.patch(`/Users/${user.id}`, operations), 400, scimType)
    expect((await stored(user.userName))?.version).toBe(1)
  })

  it('applies all operations or none: a failing last operation leaves the first unwritten', async () => {
    const user = await created()
    const res = await api.patch(`/Users/${user.id}`, [
      { op: 'replace', path: 'displayName', value: 'First' },
      { op: 'replace', path: 'id', value: 'x' },
    ])
    await expectScimError(res, 400, 'mutability')
    expect(await stored(user.userName)).not.toHaveProperty('displayName')
  })

  it('answers 409 uniqueness when the new userName is taken', async () => {
    const [one, two] = [await created(), await created()]
    await expectScimError(
      await api.patch(`/Users/${two.id}`, [{ op: 'replace', path: 'userName', value: one.userName }]),
      409,
      'uniqueness',
    )
  })
})

/** Holds the first `size` reads of a user until all have happened: every request then works on the same version. */
let gate: { size: number; waiting: (() => void)[] } | undefined
const gated: UsersRepository = {
  ...t.users,
  async findById(id) {
    const user = await t.users.findById(id)
    const current = gate
    if (current && current.waiting.length < current.size) {
      await new Promise<void>((resolve) => {
        current.waiting.push(resolve)
        if (current.waiting.length === current.size) for (const release of current.waiting) release()
      })
    }
    return user
  },
}
// A second instance on the same database, whose reads meet at the gate.
const racing = await useTestApp({ name: 'scim_users_race', sameDatabaseAs: t, deps: { authenticator, users: gated } })
const raced = scimClient(racing.raw, scim.key)

describe('PATCH races: the write is made at the version the operations were applied to', () => {
  it('of two PATCHes of emails[value eq "old"].value, one wins; the other, read again, finds no target: no lost update', async () => {
    const user = await created()
    const old = user.emails[0]!.value
    gate = { size: 2, waiting: [] }
    const path = `emails[value eq "${old}"].value`
    const answers = await Promise.all(
      ['one', 'two'].map((who) =>
        raced.patch(`/Users/${user.id}`, [{ op: 'replace', path, value: `${who}.${user.id}@example.com` }]),
      ),
    )
    gate = undefined
    expect(answers.map((res) => res.status).sort()).toEqual([200, 400])
    const winner = (await answers.find((res) => res.status === 200)!.json()) as ScimUserBody
    await expectScimError(answers.find((res) => res.status === 400)!, 400, 'noTarget')
    expect((await stored(user.userName))?.email).toBe(winner.emails[0]!.value)
    expect(winner.meta.version).toBe('W/"2"')
  })

  it('two PATCHes of different attributes both land: the one that lost the race goes round again', async () => {
    const user = await created()
    gate = { size: 2, waiting: [] }
    const answers = await Promise.all([
      raced.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'displayName', value: 'From one' }]),
      raced.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'name.givenName', value: 'From two' }]),
    ])
    gate = undefined
    expect(answers.map((res) => res.status)).toEqual([200, 200])
    expect(await stored(user.userName)).toMatchObject({ displayName: 'From one', givenName: 'From two', version: 3 })
  })
})

describe('DELETE /scim/v2/Users/{id}', () => {
  it('is the soft delete: 204, then GET 404, and /v1 can still restore it', async () => {
    const user = await created()
    const res = await api.delete(`/Users/${user.id}`)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    await expectScimError(await api.get(`/Users/${user.id}`), 404)
    await expectScimError(await api.delete(`/Users/${user.id}`), 404)
    expect((await t.collection.findOne({ username: user.userName }))?.deletedAt).toBeInstanceOf(Date)
    const restored = await t.raw(`/v1/users/${user.id}/restore`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}` },
    })
    expect(restored.status).toBe(200)
  })

  it('honours If-Match: 412 when stale, nothing deleted', async () => {
    const user = await created()
    await expectScimError(await api.delete(`/Users/${user.id}`, { 'if-match': 'W/"4"' }), 412)
    expect((await api.get(`/Users/${user.id}`)).status).toBe(200)
    expect((await api.delete(`/Users/${user.id}`, { 'if-match': 'W/"1"' })).status).toBe(204)
  })

  it('answers a SCIM 404 for an id of another form', async () => {
    await expectScimError(await api.delete('/Users/..%2F..%2Fv1%2Fusers'), 404)
  })
})
