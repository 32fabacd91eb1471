import { describe, expect, it } from 'bun:test'
import { testConfig } from '../src/config'
import { newUser, useTestApp } from './helpers/context'
import { expectProblem, pointers } from './helpers/problem'

/**
 * Regression tests for what Schemathesis (scripts/reliability/schemathesis.ts) found: places where
 * the OpenAPI document and the service disagreed. Each table sends values on both sides of a rule
 * and checks that the service accepts a value exactly when the served document says it may.
 */
const t = await useTestApp({ name: 'schemathesis_findings' })
const legacy = await useTestApp({ name: 'schemathesis_legacy', deps: { config: testConfig({ legacyRoutes: true }) } })

type StringSchema = { type?: string | string[]; format?: string; minLength?: number; maxLength?: number; pattern?: string }
type Parameter = { name: string; in: string; schema: StringSchema }
type Operation = { parameters?: Parameter[] }

const document = (await (await t.raw('/openapi.json')).json()) as {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, { properties: Record<string, StringSchema> }> }
}

function parameter(path: string, method: string, name: string): StringSchema {
  const found = document.paths[path]?.[method]?.parameters?.find((p) => p.name === name)
  if (!found) throw new Error(`${method} ${path} documents no parameter ${name}`)
  return found.schema
}

/** What the document lets a client send as this string: JSON Schema's length (in code points) and pattern. */
function documentedAccepts(schema: StringSchema, value: string): boolean {
  const length = [...value].length
  if (schema.minLength !== undefined && length < schema.minLength) return false
  if (schema.maxLength !== undefined && length > schema.maxLength) return false
  return schema.pattern === undefined || new RegExp(schema.pattern, 'u').test(value)
}

/** Runs `send` for every value and compares "not refused with 400 at `pointer`" with the document. */
async function expectAgreement(
  schema: StringSchema,
  values: string[],
  pointer: string,
  send: (value: string) => Response | Promise<Response>,
) {
  const disagreements: string[] = []
  const seen = new Set<boolean>()
  for (const value of values) {
    const res = await send(value)
    const refused = res.status === 400 && pointers((await res.json()) as never).includes(pointer)
    seen.add(!refused)
    if (refused === documentedAccepts(schema, value)) {
      disagreements.push(`${JSON.stringify(value)}: service ${refused ? 'refuses' : 'accepts'} it, the document says otherwise`)
    }
  }
  expect(disagreements).toEqual([])
  // Both sides of the rule were exercised, so agreement means something.
  expect([...seen].sort()).toEqual([false, true])
}

describe('Idempotency-Key (POST /v1/users)', () => {
  it('is documented with the syntax the service enforces', async () => {
    const values = ['k1', 'a'.repeat(255), 'a'.repeat(256), '', 'has space', 'tab\tinside', 'caf\u00e9', '~!#$%&*']
    await expectAgreement(parameter('/v1/users', 'post', 'Idempotency-Key'), values, 'header:/idempotency-key', (key) =>
      t.raw('/v1/users', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(newUser()),
      }),
    )
  })

  it('never replays a stored answer for an invalid body: validation comes first (400, not 201)', async () => {
    const key = crypto.randomUUID()
    const body = newUser({ password: 'correct horse battery' })
    const post = (json: unknown) =>
      t.raw('/v1/users', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(json),
      })
    expect((await post(body)).status).toBe(201)
    // The password's value is not part of the fingerprint, so this once matched and replayed 201.
    const problem = await expectProblem(await post({ ...body, password: 'x'.repeat(129) }), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:/password'])
  })
})

describe('If-Match and If-None-Match', () => {
  const values = [
    '"1"',
    '*',
    ' "1" ',
    'W/"1"',
    '"1", "2"',
    '"a,b"',
    '',
    'N4',
    '1',
    '"1',
    'W/ "1"',
    '"1";',
    `"${'9'.repeat(1030)}"`,
  ]

  it('If-None-Match on GET /v1/users/{id} is documented with the syntax the service enforces', async () => {
    const user = await t.createUser()
    await expectAgreement(parameter('/v1/users/{id}', 'get', 'If-None-Match'), values, 'header:/if-none-match', (value) =>
      t.raw(`/v1/users/${user.id}`, { headers: { 'if-none-match': value } }),
    )
  })

  it('If-Match on PATCH /v1/users/{id} is documented with the syntax the service enforces', async () => {
    const user = await t.createUser()
    await expectAgreement(parameter('/v1/users/{id}', 'patch', 'If-Match'), values, 'header:/if-match', (value) =>
      t.raw(`/v1/users/${user.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json', 'if-match': value },
        body: JSON.stringify({ displayName: 'Same' }),
      }),
    )
  })
})

describe('email', () => {
  const values = [
    'alice@example.com',
    "o'brien+tag@mail.example.co",
    '  padded@example.com  ',
    'k0!k@5qsmdfxb.vhc.test',
    'a b@example.com',
    'x@y',
    'a..b@example.com',
    '.a@example.com',
    'a@-example.com',
    'a@example.c',
    `${'a'.repeat(250)}@b.co`,
  ]

  it('in the body of POST /v1/users is documented with the syntax the service enforces', async () => {
    const schema = document.components.schemas.CreateUser?.properties.email ?? {}
    await expectAgreement(schema, values, 'body:/email', (email) =>
      t.raw('/v1/users', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(newUser({ email })),
      }),
    )
  })

  it('in POST /create (compatibility route) is documented with the syntax the service enforces', async () => {
    const schema = document.components.schemas.LegacyCreateUser?.properties.email ?? {}
    let n = 0
    await expectAgreement(schema, values, 'body:/email', (email) =>
      legacy.raw('/create', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `legacy${n++}${Date.now()}`, email }),
      }),
    )
  })

  it('is never documented as `format: email`, which refuses the padding the service trims', async () => {
    const res = await t.raw('/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(newUser({ email: `\u2000padded${Date.now()}@example.com\u2004` })),
    })
    expect(res.status).toBe(201)
    const formats = ['CreateUser', 'UpdateUser', 'LegacyCreateUser', 'LegacyUpdateUser'].map(
      (name) => document.components.schemas[name]?.properties.email?.format,
    )
    expect(formats).toEqual([undefined, undefined, undefined, undefined])
    expect(parameter('/v1/users/by-email/{email}', 'get', 'email').format).toBeUndefined()
  })

  it('in GET /v1/users/by-email/{email} is documented with the syntax the service enforces', async () => {
    await expectAgreement(parameter('/v1/users/by-email/{email}', 'get', 'email'), values, 'path:/email', (email) =>
      t.raw(`/v1/users/by-email/${encodeURIComponent(email)}`),
    )
  })
})

describe('PATCH /v1/users/{id} metadata', () => {
  it('documents `null` (empty it), which the service accepts', async () => {
    const user = await t.createUser({ metadata: { plan: 'pro' } })
    const res = await t.raw(`/v1/users/${user.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: null }),
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { metadata: object }).metadata).toEqual({})
    const metadata = document.components.schemas.UpdateUser?.properties.metadata as { type?: string | string[] }
    expect([metadata.type].flat()).toContain('null')
  })
})

describe('displayName', () => {
  it('in the body of POST /v1/users is documented with the rules the service enforces', async () => {
    const schema = document.components.schemas.CreateUser?.properties.displayName ?? {}
    const values = [
      'Alice W.',
      '  padded  ',
      'Zoë ☕',
      '',
      '   ',
      'line\rbreak',
      'tab\there',
      'nul\u0000',
      'rtl\u202eoverride',
      'x'.repeat(100),
      'x'.repeat(101),
    ]
    await expectAgreement(schema, values, 'body:/displayName', (displayName) =>
      t.raw('/v1/users', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(newUser({ displayName })),
      }),
    )
  })
})

describe('metadata', () => {
  /** A minimal JSON Schema evaluator for what the Metadata component uses: enough to compare with the service. */
  type Schema = {
    type?: string | string[]
    anyOf?: Schema[]
    not?: Schema
    enum?: unknown[]
    pattern?: string
    propertyNames?: Schema
    additionalProperties?: boolean | Schema
    items?: Schema
  }
  const typeOf = (value: unknown) =>
    value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value
  function valid(schema: Schema, value: unknown): boolean {
    if (schema.type !== undefined && ![schema.type].flat().includes(typeOf(value))) return false
    if (schema.anyOf && !schema.anyOf.some((s) => valid(s, value))) return false
    if (schema.not && valid(schema.not, value)) return false
    if (schema.enum && !schema.enum.includes(value)) return false
    if (schema.pattern !== undefined && typeof value === 'string' && !new RegExp(schema.pattern, 'u').test(value)) return false
    if (typeOf(value) === 'object') {
      for (const [key, item] of Object.entries(value as object)) {
        if (schema.propertyNames && !valid(schema.propertyNames, key)) return false
        if (typeof schema.additionalProperties === 'object' && !valid(schema.additionalProperties, item)) return false
      }
    }
    if (Array.isArray(value) && schema.items) return value.every((item) => valid(schema.items!, item))
    return true
  }

  it('is documented with the keys, depth and nesting rules the service enforces', async () => {
    const schema = (document.components.schemas as unknown as Record<string, Schema>).Metadata ?? {}
    const deep = (levels: number): object => (levels === 1 ? { leaf: 1 } : { a: deep(levels - 1) })
    const values: unknown[] = [
      { plan: 'pro', prefs: { theme: 'dark' } },
      { list: [1, 'two', { three: [3] }] },
      deep(5),
      deep(6),
      { 'bad key': 1 },
      { nested: { $where: 1 } },
      { 'a.b': 1 },
      { ['x'.repeat(65)]: 1 },
      { constructor: 1 },
      { deep: { prototype: {} } },
      { grid: [[1, 2]] },
      { grid: [{ ok: [[1]] }] },
    ]
    const disagreements: string[] = []
    for (const metadata of values) {
      const res = await t.raw('/v1/users', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(newUser({ metadata })),
      })
      const refused = res.status === 400
      if (!refused) expect(res.status).toBe(201)
      if (refused === valid(schema, metadata))
        disagreements.push(`${JSON.stringify(metadata)}: service ${refused ? 'refuses' : 'accepts'} it`)
    }
    expect(disagreements).toEqual([])
  })
})

describe('PATCH /v1/users/{id} with an empty object', () => {
  it('is refused (400) and the document says a patch needs at least one field', async () => {
    const user = await t.createUser()
    const res = await t.raw(`/v1/users/${user.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: '{}',
    })
    expect(res.status).toBe(400)
    const updateUser = document.components.schemas.UpdateUser as unknown as { minProperties?: number }
    expect(updateUser.minProperties).toBe(1)
  })
})

describe('PUT /update/{username} (compatibility route) with an empty object', () => {
  it('is refused (400) and the document says an update needs at least one field', async () => {
    const username = `legacyempty${Date.now()}`
    const created = await legacy.raw('/create', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, email: `${username}@example.com` }),
    })
    expect(created.status).toBe(201)
    const res = await legacy.raw(`/update/${username}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(res.status).toBe(400)
    const update = document.components.schemas.LegacyUpdateUser as unknown as { minProperties?: number }
    expect(update.minProperties).toBe(1)
  })
})

describe('login (POST /v1/auth/verify)', () => {
  it('is documented with the rules the service enforces (not blank once trimmed, 254 at most)', async () => {
    const schema = document.components.schemas.VerifyCredentials?.properties.login ?? {}
    const values = ['alice', '  alice  ', ' ', '\u00a0\u3000', '', 'a'.repeat(254), 'a'.repeat(255)]
    await expectAgreement(schema, values, 'body:/login', (login) =>
      t.raw('/v1/auth/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login, password: 'wrong password' }),
      }),
    )
  }, 30_000) // each accepted login costs an argon2id verification
})
