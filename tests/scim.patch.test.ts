import { describe, expect, it } from 'bun:test'
import { ScimError } from '../src/scim/scim.errors'
import { applyUserPatch, MAX_PATCH_OPERATIONS, parsePatchRequest, type ScimUserState } from '../src/scim/scim.patch'
import entra from './fixtures/scim/entra.json'
import okta from './fixtures/scim/okta.json'

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User'

const alice: ScimUserState = {
  id: '665f1c2e9b1e8a3d4c5b6a79',
  userName: 'alice@contoso.com',
  email: 'alice@contoso.com',
  givenName: 'Alice',
  familyName: 'Wong',
  displayName: 'Alice W.',
  externalId: 'ext-1',
  active: true,
}

const body = (...operations: unknown[]) => ({ schemas: [PATCH_OP], Operations: operations })
const patch = (operations: unknown[], current: ScimUserState = alice) =>
  applyUserPatch(current, parsePatchRequest(body(...operations)))

/** The ScimError `run` throws, checked to be of the given type. */
function scimErrorOf(run: () => unknown, scimType: ScimError['scimType']): ScimError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError)
    expect({ scimType: (error as ScimError).scimType, detail: (error as ScimError).detail }).toMatchObject({ scimType })
    expect((error as ScimError).status).toBe(400)
    return error as ScimError
  }
  throw new Error(`expected a ScimError ${scimType}, nothing was thrown`)
}

describe('SCIM PATCH: what Entra ID sends', () => {
  it('replaces with "Replace", a filtered email path and a dotted name path', () => {
    expect(
      patch([
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ]),
    ).toEqual({ email: 'updatedEmail@microsoft.com', familyName: 'updatedFamilyName' })
  })

  it('reads "active": "False" and "True" as booleans, in any case', () => {
    expect(patch([{ op: 'Replace', path: 'active', value: 'False' }])).toEqual({ active: false })
    expect(patch([{ op: 'replace', path: 'active', value: 'TRUE' }], { ...alice, active: false })).toEqual({ active: true })
    expect(patch([{ op: 'replace', path: 'active', value: false }])).toEqual({ active: false })
  })

  it('splits a value-only replace with dotted and URN keys, ignoring the enterprise extension', () => {
    expect(
      patch([
        {
          op: 'replace',
          value: {
            displayName: 'Bjfe',
            'name.givenName': 'Kkom',
            'name.familyName': 'Unua',
            [`${ENTERPRISE}:employeeNumber`]: 'Aklq',
            [ENTERPRISE]: { department: 'HR', manager: { value: '123' } },
            'emails[type eq "work"].value': 'new@contoso.com',
            [`${CORE}:externalId`]: 'ext-2',
          },
        },
      ]),
    ).toEqual({ displayName: 'Bjfe', givenName: 'Kkom', familyName: 'Unua', email: 'new@contoso.com', externalId: 'ext-2' })
  })

  it('accepts and ignores core attributes the service does not store', () => {
    const ignored = ['nickName', 'title', 'phoneNumbers[type eq "work"].value', 'addresses[type eq "work"].postalCode']
    for (const path of ignored) expect(patch([{ op: 'Add', path, value: 'Babs' }])).toEqual({})
    expect(
      patch([
        {
          op: 'replace',
          value: {
            preferredLanguage: 'en',
            locale: 'en-US',
            timezone: 'Europe/Paris',
            profileUrl: 'https://x',
            userType: 'Employee',
            x509Certificates: [],
            roles: [{ value: 'admin' }],
            'name.middleName': 'M',
            'name.formatted': 'A M W',
            'emails[type eq "work"].display': 'Alice',
          },
        },
      ]),
    ).toEqual({})
    expect(patch([{ op: 'Remove', path: 'title' }])).toEqual({})
  })
})

describe('SCIM PATCH: what Okta sends', () => {
  it('deactivates and reactivates with a value-only replace', () => {
    expect(patch([{ op: 'replace', value: { active: false } }])).toEqual({ active: false })
    expect(patch([{ op: 'replace', value: { active: true } }], { ...alice, active: false })).toEqual({ active: true })
  })

  it('syncs a password, and lets the same id pass in a value-only replace', () => {
    expect(patch([{ op: 'replace', value: { password: 'n3w-passw0rd', id: alice.id } }])).toEqual({ password: 'n3w-passw0rd' })
    expect(patch([{ op: 'remove', path: 'password' }])).toEqual({ password: null })
  })
})

describe('SCIM PATCH: operations and paths', () => {
  it('reads op, member names and attribute names in any case', () => {
    const operations = parsePatchRequest({
      SCHEMAS: [PATCH_OP.toUpperCase()],
      operations: [{ OP: 'REMOVE', PATH: 'DisplayName' }],
    })
    expect(applyUserPatch(alice, operations)).toEqual({ displayName: null })
    expect(patch([{ op: 'ADD', path: 'USERNAME', value: 'Bob' }])).toEqual({ userName: 'Bob' })
  })

  it('applies operations in order, later ones winning', () => {
    expect(
      patch([
        { op: 'replace', path: 'displayName', value: 'One' },
        { op: 'remove', path: 'displayName' },
        { op: 'add', path: 'displayName', value: 'Two' },
      ]),
    ).toEqual({ displayName: 'Two' })
  })

  it('removes and clears optional attributes, with remove or a null value', () => {
    expect(patch([{ op: 'remove', path: 'externalId' }])).toEqual({ externalId: null })
    expect(patch([{ op: 'replace', path: 'name', value: null }])).toEqual({ givenName: null, familyName: null })
    expect(patch([{ op: 'remove', path: 'name.givenName' }])).toEqual({ givenName: null })
    expect(patch([{ op: 'replace', path: 'name', value: { givenName: 'Al' } }])).toEqual({ givenName: 'Al' })
  })

  it('reads a path naming the core schema as the resource itself', () => {
    expect(patch([{ op: 'replace', path: CORE, value: { displayName: 'X' } }])).toEqual({ displayName: 'X' })
    expect(patch([{ op: 'replace', value: { [CORE]: { userName: 'bob' } } }])).toEqual({ userName: 'bob' })
  })
})

describe('SCIM PATCH: emails', () => {
  it('sets the work email when the user has none, through a type filter', () => {
    const none = { ...alice, email: null }
    expect(patch([{ op: 'add', path: 'emails[type eq "work"].value', value: 'a@x.com' }], none)).toEqual({ email: 'a@x.com' })
    expect(patch([{ op: 'add', path: 'emails[type eq "work"]', value: { value: 'a@x.com', primary: true } }], none)).toEqual({
      email: 'a@x.com',
    })
  })

  it('removes the work email, and answers noTarget when there is none', () => {
    expect(patch([{ op: 'remove', path: 'emails[type eq "work"]' }])).toEqual({ email: null })
    expect(patch([{ op: 'remove', path: 'emails' }])).toEqual({ email: null })
    expect(patch([{ op: 'remove', path: 'emails.value' }])).toEqual({ email: null })
    scimErrorOf(() => patch([{ op: 'remove', path: 'emails[type eq "work"]' }], { ...alice, email: null }), 'noTarget')
  })

  it('matches a value filter case-insensitively, and answers noTarget when it matches nothing', () => {
    expect(patch([{ op: 'replace', path: 'emails[value eq "ALICE@contoso.com"].value', value: 'b@x.com' }])).toEqual({
      email: 'b@x.com',
    })
    for (const op of ['add', 'replace', 'remove']) {
      scimErrorOf(() => patch([{ op, path: 'emails[value eq "other@contoso.com"].value', value: 'b@x.com' }]), 'noTarget')
    }
  })

  it('leaves emails of other types alone: they are not stored', () => {
    expect(patch([{ op: 'replace', path: 'emails[type eq "home"].value', value: 'h@x.com' }])).toEqual({})
    expect(patch([{ op: 'remove', path: 'emails[type eq "other"]' }])).toEqual({})
    expect(patch([{ op: 'add', path: 'emails', value: [{ value: 'h@x.com', type: 'home' }] }])).toEqual({})
  })

  it('stores the primary entry of a list, else the work one, else the first when the list is replaced', () => {
    const list = [
      { value: 'home@x.com', type: 'home' },
      { value: 'work@x.com', type: 'Work' },
      { value: 'main@x.com', type: 'other', primary: 'True' },
    ]
    expect(patch([{ op: 'replace', path: 'emails', value: list }])).toEqual({ email: 'main@x.com' })
    expect(patch([{ op: 'add', path: 'emails', value: list.slice(0, 2) }])).toEqual({ email: 'work@x.com' })
    expect(patch([{ op: 'replace', path: 'emails', value: list.slice(0, 1) }])).toEqual({ email: 'home@x.com' })
    expect(patch([{ op: 'replace', path: 'emails', value: [] }])).toEqual({ email: null })
    expect(patch([{ op: 'replace', value: { emails: [{ value: 'w@x.com', type: 'work', primary: true }] } }])).toEqual({
      email: 'w@x.com',
    })
  })
})

describe('SCIM PATCH: errors the RFC assigns', () => {
  it.each([
    ['a non-object body', [], 'invalidSyntax'],
    ['no schemas', { Operations: [{ op: 'add', path: 'displayName', value: 'x' }] }, 'invalidSyntax'],
    [
      'another message schema',
      { schemas: [CORE], Operations: [{ op: 'add', path: 'displayName', value: 'x' }] },
      'invalidSyntax',
    ],
    ['no Operations', { schemas: [PATCH_OP] }, 'invalidSyntax'],
    ['empty Operations', body(), 'invalidSyntax'],
    ['Operations not a list', { schemas: [PATCH_OP], Operations: { op: 'add' } }, 'invalidSyntax'],
    ['an unknown op', body({ op: 'move', path: 'displayName', value: 'x' }), 'invalidSyntax'],
    ['an op that is not a string', body({ op: 1, path: 'displayName', value: 'x' }), 'invalidSyntax'],
    ['an operation that is not an object', body('replace'), 'invalidSyntax'],
    ['add without a value', body({ op: 'add', path: 'displayName' }), 'invalidSyntax'],
    ['a value-only replace whose value is not an object', body({ op: 'replace', value: 'x' }), 'invalidSyntax'],
    ['remove without a path', body({ op: 'remove' }), 'noTarget'],
    ['a path that is not a string', body({ op: 'add', path: 3, value: 'x' }), 'invalidPath'],
    ['a malformed path', body({ op: 'add', path: 'emails[type eq "work"', value: 'x' }), 'invalidPath'],
    ['a value-only key that is not a path', body({ op: 'add', value: { 'not a path': 1 } }), 'invalidPath'],
  ])('refuses %s', (_what, request, scimType) => {
    scimErrorOf(() => parsePatchRequest(request), scimType as ScimError['scimType'])
  })

  it(`refuses more than ${MAX_PATCH_OPERATIONS} operations`, () => {
    const many = Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => ({ op: 'add', path: 'displayName', value: 'x' }))
    expect(parsePatchRequest(body(...many.slice(1)))).toHaveLength(MAX_PATCH_OPERATIONS)
    scimErrorOf(() => parsePatchRequest(body(...many)), 'invalidSyntax')
  })

  it.each([
    ['an unknown attribute', { op: 'add', path: 'favouriteColour', value: 'x' }, 'invalidPath'],
    ['an unknown sub-attribute', { op: 'add', path: 'name.nickname', value: 'x' }, 'invalidPath'],
    ['an unknown schema', { op: 'add', path: 'urn:example:custom:2.0:User:tag', value: 'x' }, 'invalidPath'],
    ['a deep path', { op: 'add', path: 'name.givenName.first', value: 'x' }, 'invalidPath'],
    [
      'a filter on a single-valued attribute',
      { op: 'add', path: 'name[givenName eq "x"].familyName', value: 'x' },
      'invalidPath',
    ],
    [
      'an unknown email sub-attribute in a filter',
      { op: 'add', path: 'emails[kind eq "work"].value', value: 'x' },
      'invalidPath',
    ],
    ['an unsupported operator in a filter', { op: 'add', path: 'emails[value gt "a"].value', value: 'x' }, 'invalidFilter'],
    ['the id', { op: 'replace', path: 'id', value: 'other' }, 'mutability'],
    ['meta', { op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }, 'mutability'],
    ['groups', { op: 'add', path: 'groups', value: [{ value: 'g1' }] }, 'mutability'],
    ['another id in a value-only replace', { op: 'replace', value: { id: 'other' } }, 'mutability'],
    ['userName removed', { op: 'remove', path: 'userName' }, 'invalidValue'],
    ['userName null', { op: 'replace', path: 'userName', value: null }, 'invalidValue'],
    ['userName empty', { op: 'replace', path: 'userName', value: '' }, 'invalidValue'],
    ['userName a number', { op: 'replace', path: 'userName', value: 5 }, 'invalidValue'],
    ['active removed', { op: 'remove', path: 'active' }, 'invalidValue'],
    ['active "yes"', { op: 'replace', path: 'active', value: 'yes' }, 'invalidValue'],
    ['active 0', { op: 'replace', path: 'active', value: 0 }, 'invalidValue'],
    ['an empty password', { op: 'replace', path: 'password', value: '' }, 'invalidValue'],
    ['displayName an operator object', { op: 'replace', path: 'displayName', value: { $ne: null } }, 'invalidValue'],
    ['externalId an array', { op: 'replace', path: 'externalId', value: ['a'] }, 'invalidValue'],
    ['name a string', { op: 'replace', path: 'name', value: 'Alice Wong' }, 'invalidValue'],
    ['name with an operator key', { op: 'replace', path: 'name', value: { $set: { givenName: 'x' } } }, 'invalidValue'],
    ['emails not objects', { op: 'replace', path: 'emails', value: ['a@x.com'] }, 'invalidValue'],
    [
      'an email value that is not a string',
      { op: 'replace', path: 'emails[type eq "work"].value', value: { $gt: '' } },
      'invalidValue',
    ],
  ])('refuses %s', (_what, operation, scimType) => {
    scimErrorOf(() => patch([operation]), scimType as ScimError['scimType'])
  })

  it('is all or nothing: a failing operation after valid ones returns no changes', () => {
    let changes: unknown
    scimErrorOf(() => {
      changes = patch([
        { op: 'replace', path: 'displayName', value: 'ok' },
        { op: 'replace', path: 'active', value: 'maybe' },
      ])
    }, 'invalidValue')
    expect(changes).toBeUndefined()
  })

  it('names the operation and the attribute, never the value', () => {
    const error = scimErrorOf(
      () =>
        patch([
          { op: 'add', path: 'title', value: 'x' },
          { op: 'replace', path: 'password', value: 42 },
        ]),
      'invalidValue',
    )
    expect(error.detail).toBe("Operations[1] ('password'): the value must be a non-empty string.")
    for (const value of ['hunter2-secret', { $where: 'hunter2-secret' }, ['hunter2-secret']]) {
      const detail = scimErrorOf(() => patch([{ op: 'replace', path: 'active', value }]), 'invalidValue').detail
      expect(detail).not.toContain('hunter2')
    }
  })

  it('refuses __proto__ and operator keys without touching any prototype', () => {
    const hostile = JSON.parse(
      '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"__proto__":{"polluted":true}}}]}',
    )
    scimErrorOf(() => parsePatchRequest(hostile), 'invalidPath')
    scimErrorOf(() => patch([{ op: 'replace', value: { $set: { role: 'admin' } } }]), 'invalidPath')
    scimErrorOf(() => patch([{ op: 'replace', path: 'name', value: JSON.parse('{"__proto__":{"x":1}}') }]), 'invalidValue')
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
  })

  it('refuses a 10,000-deep path filter with invalidPath', () => {
    const deep = `emails[${'('.repeat(10_000)}type eq "work"${')'.repeat(10_000)}].value`
    expect(scimErrorOf(() => patch([{ op: 'replace', path: deep, value: 'x' }]), 'invalidPath').detail).toContain('longer than')
  })
})

type Step = { name: string; request: { method: string; body?: unknown }; expect: { body?: Record<string, unknown> } }

/** The stored SCIM attributes of a create or PUT body, as the later SCIM surface will read them. */
function stateOf(resource: Record<string, unknown>): ScimUserState {
  const name = (resource.name ?? {}) as Record<string, string | undefined>
  const emails = (resource.emails ?? []) as { value: string; primary?: boolean }[]
  return {
    id: '{id}',
    userName: resource.userName as string,
    email: (emails.find((email) => email.primary) ?? emails[0])?.value ?? null,
    givenName: name.givenName ?? null,
    familyName: name.familyName ?? null,
    displayName: (resource.displayName as string | undefined) ?? null,
    externalId: (resource.externalId as string | undefined) ?? null,
    active: resource.active !== false,
  }
}

describe('SCIM PATCH: the recorded provider sequences (tests/fixtures/scim)', () => {
  for (const [provider, fixture] of [
    ['Entra ID', entra],
    ['Okta', okta],
  ] as const) {
    it(`brings the user to each documented state through ${provider}'s PATCH and PUT bodies`, () => {
      let state: ScimUserState | undefined
      let patches = 0
      for (const step of fixture.steps as Step[]) {
        const { method, body: requestBody } = step.request
        if ((method === 'POST' && step.name === 'create-user') || method === 'PUT') {
          state = stateOf(requestBody as Record<string, unknown>)
        } else if (method === 'PATCH') {
          patches++
          const changes = applyUserPatch(state!, parsePatchRequest(requestBody))
          const { password: _password, ...stored } = changes
          state = { ...state!, ...stored }
        }
        if (state && step.expect.body && method !== 'GET' && method !== 'DELETE' && step.name !== 'create-duplicate-user') {
          const expected = documentedValues(step.expect.body)
          const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, state![key as keyof ScimUserState]]))
          expect({ step: step.name, ...actual }).toEqual({ step: step.name, ...expected })
        }
      }
      expect(patches).toBeGreaterThanOrEqual(provider === 'Entra ID' ? 7 : 2)
    })
  }
})

/** The documented values themselves, keyed like `documented`. */
function documentedValues(expected: Record<string, unknown>): Partial<ScimUserState> {
  const values: Partial<ScimUserState> = {}
  for (const key of ['userName', 'displayName', 'externalId', 'active'] as const) {
    if (key in expected) Object.assign(values, { [key]: expected[key] })
  }
  const name = expected.name as Record<string, string> | undefined
  if (name) Object.assign(values, { givenName: name.givenName ?? null, familyName: name.familyName ?? null })
  const emails = expected.emails as { value: string }[] | undefined
  if (emails) values.email = emails[0]?.value ?? null
  return values
}
