import { describe, expect, it } from 'bun:test'
import { json, newUser, useTestApp } from './helpers/context'
import { expectProblem, pointers } from './helpers/problem'

const t = await useTestApp({ name: 'create' })

describe('POST /v1/users', () => {
  it('creates a user with defaults, Location and ETag', async () => {
    const body = newUser({ displayName: '  Alice W.  ' })
    const res = await t.api.v1.users.$post({ json: body })
    expect(res.status).toBe(201)
    if (res.status !== 201) return
    const user = await res.json()
    expect(user).toMatchObject({
      username: body.username,
      email: body.email,
      displayName: 'Alice W.',
      metadata: {},
      role: 'user',
      status: 'active',
      hasPassword: false,
      version: 1,
    })
    expect(user.id).toMatch(/^[0-9a-f]{24}$/)
    expect(user.createdAt).toBe(user.updatedAt)
    expect(new Date(user.createdAt).toISOString()).toBe(user.createdAt)
    expect(res.headers.get('location')).toBe(`/v1/users/${user.id}`)
    expect(res.headers.get('etag')).toBe('"1"')
  })

  it('keeps the case of username and email, trims the email', async () => {
    const body = newUser()
    const res = await t.api.v1.users.$post({
      json: { ...body, username: body.username.toUpperCase(), email: `  ${body.email.toUpperCase()} ` },
    })
    expect(res.status).toBe(201)
    const user = (await res.json()) as { username: string; email: string }
    expect(user.username).toBe(body.username.toUpperCase())
    expect(user.email).toBe(body.email.toUpperCase())
  })

  it('stores the password as an argon2id hash and never returns it', async () => {
    const password = 'correct horse battery staple'
    const res = await t.raw('/v1/users', json(newUser({ password })))
    expect(res.status).toBe(201)
    const text = await res.text()
    expect(text).not.toContain(password)
    expect(text).not.toContain('argon2')
    const user = JSON.parse(text)
    expect(user.hasPassword).toBe(true)
    expect(Object.keys(user)).not.toContain('password')
    expect(Object.keys(user)).not.toContain('passwordHash')
    const stored = await t.collection.findOne({ username: user.username })
    expect(stored?.passwordHash).toStartWith('$argon2id$v=19$m=65536,t=2,p=1$')
    expect(JSON.stringify(stored)).not.toContain(password)
    expect(await Bun.password.verify(password, stored!.passwordHash)).toBe(true)
  })

  it('accepts role, status and metadata', async () => {
    const metadata = { plan: 'pro', prefs: { theme: 'dark', tags: ['a', { b: [1, 2] }] }, n: 1.5, ok: true, none: null }
    const res = await t.api.v1.users.$post({ json: newUser({ role: 'moderator', status: 'disabled', metadata }) })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ role: 'moderator', status: 'disabled', metadata })
  })

  it('returns 409 username_taken for a username differing only in case, naming the field', async () => {
    const first = newUser()
    expect((await t.api.v1.users.$post({ json: first })).status).toBe(201)
    const res = await t.raw('/v1/users', json(newUser({ username: first.username.toUpperCase() })))
    const problem = await expectProblem(res, 409, 'username_taken')
    expect(problem.detail).toContain(first.username.toUpperCase())
    expect(pointers(problem)).toEqual(['body:/username'])
  })

  it('returns 409 email_taken for an email differing only in case', async () => {
    const first = newUser()
    expect((await t.api.v1.users.$post({ json: first })).status).toBe(201)
    const res = await t.raw('/v1/users', json(newUser({ email: first.email.toUpperCase() })))
    const problem = await expectProblem(res, 409, 'email_taken')
    expect(pointers(problem)).toEqual(['body:/email'])
  })

  it('lets exactly one of 50 concurrent creates of one username (mixed case) win', async () => {
    const base = newUser().username
    const variants = Array.from({ length: 50 }, (_, i) =>
      [...base].map((ch, j) => ((i >> (j % 6)) & 1 ? ch.toUpperCase() : ch)).join(''),
    )
    const responses = await Promise.all(variants.map((username) => t.raw('/v1/users', json(newUser({ username })))))
    const statuses = responses.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409)).toHaveLength(49)
    const codes = await Promise.all(responses.filter((r) => r.status === 409).map(async (r) => (await r.json()).code))
    expect(new Set(codes)).toEqual(new Set(['username_taken']))
    expect(await t.collection.countDocuments({ usernameKey: base.toLowerCase() })).toBe(1)
  })

  describe('validation', () => {
    it('reports every invalid field with a JSON pointer', async () => {
      const res = await t.raw(
        '/v1/users',
        json({ username: 'a b', email: 'not-an-email', password: 'short', role: 'root', displayName: '' }),
      )
      const problem = await expectProblem(res, 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['body:/displayName', 'body:/email', 'body:/password', 'body:/role', 'body:/username'])
      expect(JSON.stringify(problem)).not.toContain('short')
    })

    it('requires username and email', async () => {
      const problem = await expectProblem(await t.raw('/v1/users', json({})), 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['body:/email', 'body:/username'])
    })

    it.each([
      ['id', '665f1c2e9b1e8a3d4c5b6a79'],
      ['version', 7],
      ['createdAt', '2020-01-01T00:00:00.000Z'],
      ['passwordHash_', '$argon2id$v=19$m=65536,t=2,p=1$x'],
      ['hasPassword', true],
      ['isAdmin', true],
    ])('rejects the unknown or server-owned field %s', async (field, value) => {
      const body = newUser({ [field]: value })
      const problem = await expectProblem(await t.raw('/v1/users', json(body)), 400, 'validation_failed')
      expect(problem.errors).toEqual([
        { location: 'body', pointer: `/${field}`, code: 'unknown_field', message: expect.any(String) },
      ])
      expect(await t.collection.countDocuments({ username: body.username })).toBe(0)
    })

    it.each([
      ['empty', ''],
      ['too long', `${'a'.repeat(243)}@example.com`],
      ['only dots', '...'],
      ['a slash', 'alice/bob'],
      ['a question mark', 'alice?'],
      ['a percent sign', 'alice%41'],
      ['a quote', 'ali"ce'],
      ['a backslash', 'ali\\ce'],
      ['a colon', 'alice:x'],
      ['space', 'al ice'],
      ['a tab', 'al\tice'],
      ['non-ASCII', 'аlice'],
      ['NUL', 'ali\u0000ce'],
    ])('rejects a username that is %s', async (_, username) => {
      const problem = await expectProblem(await t.raw('/v1/users', json(newUser({ username }))), 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['body:/username'])
    })

    it('rejects an email over 254 characters', async () => {
      const email = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`
      expect(email.length).toBeGreaterThan(254)
      const problem = await expectProblem(await t.raw('/v1/users', json(newUser({ email }))), 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['body:/email'])
    })

    it.each([
      ['a control character', 'Alice\u0007'],
      ['a bidi override', 'Alice\u202Eevil'],
      ['only spaces', '   '],
      ['101 characters', 'x'.repeat(101)],
    ])('rejects a displayName with %s', async (_, displayName) => {
      const problem = await expectProblem(await t.raw('/v1/users', json(newUser({ displayName }))), 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['body:/displayName'])
      // A bidi override is not a control character: the message names both.
      if (displayName.includes('\u202E')) expect(problem.errors?.[0]?.message).toContain('bidirectional overrides')
    })

    it.each([
      ['a key with $', { $where: 1 }, '/metadata/$where'],
      ['a dotted key', { 'a.b': 1 }, '/metadata/a.b'],
      ['a nested bad key', { prefs: { 'x y': 1 } }, '/metadata/prefs/x y'],
      ['__proto__ at the top', JSON.parse('{"__proto__": {"admin": true}}'), '/metadata/__proto__'],
      ['constructor nested', { a: { constructor: 1 } }, '/metadata/a/constructor'],
      ['an array inside an array', { a: [[1, 2]] }, '/metadata/a/0'],
      ['six levels', { a: { b: { c: { d: { e: { f: 1 } } } } } }, '/metadata/a/b/c/d/e'],
      ['a 65-character key', { ['k'.repeat(65)]: 1 }, `/metadata/${'k'.repeat(65)}`],
      ['an array', [1, 2], '/metadata'],
      ['a string', 'x', '/metadata'],
    ])('rejects metadata with %s', async (_, metadata, pointer) => {
      const body = newUser({ metadata })
      const problem = await expectProblem(await t.raw('/v1/users', json(body)), 400, 'validation_failed')
      expect(pointers(problem)).toEqual([`body:${pointer}`])
      expect(await t.collection.countDocuments({ username: body.username })).toBe(0)
    })

    it('rejects metadata over 16 KiB and accepts it at 16 KiB', async () => {
      const over = { blob: 'x'.repeat(16 * 1024) }
      await expectProblem(await t.raw('/v1/users', json(newUser({ metadata: over }))), 400, 'validation_failed')
      const exact = { blob: 'x'.repeat(16 * 1024 - '{"blob":""}'.length) }
      expect((await t.raw('/v1/users', json(newUser({ metadata: exact })))).status).toBe(201)
    })

    it('accepts metadata exactly five levels deep', async () => {
      const metadata = { a: { b: { c: { d: { e: 1 } } } }, list: [{ x: [1] }] }
      const res = await t.api.v1.users.$post({ json: newUser({ metadata }) })
      expect(res.status).toBe(201)
      expect(((await res.json()) as { metadata: unknown }).metadata).toEqual(metadata)
    })

    it.each([
      ['displayName', { displayName: 'Al\ud800ice' }, '/displayName'],
      ['password', { password: 'secret\udc00secret' }, '/password'],
      ['a metadata value', { metadata: { a: ['ok', 'bad\ud800'] } }, '/metadata/a/1'],
    ])('rejects a lone surrogate in %s (it could not be stored as sent)', async (_, override, pointer) => {
      const body = newUser(override)
      const problem = await expectProblem(await t.raw('/v1/users', json(body)), 400, 'validation_failed')
      expect(pointers(problem)).toEqual([`body:${pointer}`])
    })

    it.each([
      ['username', { $gt: '' }],
      ['email', { $ne: null }],
      ['displayName', { $exists: true }],
      ['password', { $regex: '.*' }],
      ['role', { $set: 'admin' }],
      ['status', { $in: ['active'] }],
      ['metadata', { $where: 'sleep(1000)' }],
    ])('rejects an operator object in %s and stores nothing', async (field, operator) => {
      const body = { ...newUser(), [field]: operator }
      const problem = await expectProblem(await t.raw('/v1/users', json(body)), 400, 'validation_failed')
      expect(pointers(problem)).toEqual([field === 'metadata' ? 'body:/metadata/$where' : `body:/${field}`])
      const marker = field === 'username' ? { email: body.email } : { username: body.username }
      expect(await t.collection.countDocuments(marker)).toBe(0)
    })

    it('rejects a top-level __proto__ key', async () => {
      const body = newUser()
      const text = `{"username":"${body.username}","email":"${body.email}","__proto__":{"role":"admin"}}`
      const problem = await expectProblem(await t.raw('/v1/users', json(text)), 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['body:/__proto__'])
      expect(await t.collection.countDocuments({ username: body.username })).toBe(0)
    })

    it('rejects a body that is not an object', async () => {
      await expectProblem(await t.raw('/v1/users', json('[1,2]')), 400, 'validation_failed')
      await expectProblem(await t.raw('/v1/users', json('"x"')), 400, 'validation_failed')
      await expectProblem(await t.raw('/v1/users', json('null')), 400, 'validation_failed')
    })
  })

  describe('body handling', () => {
    it('returns 400 malformed_json for broken JSON', async () => {
      await expectProblem(await t.raw('/v1/users', json('{"username": ')), 400, 'malformed_json')
      await expectProblem(await t.raw('/v1/users', json('')), 400, 'malformed_json')
    })

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx'])(
      'returns 415 for Content-Type %s',
      async (contentType) => {
        const body = newUser()
        await expectProblem(await t.raw('/v1/users', json(body, contentType)), 415, 'unsupported_media_type')
        expect(await t.collection.countDocuments({ username: body.username })).toBe(0)
      },
    )

    it('returns 415 for a body without Content-Type', async () => {
      const res = await t.raw('/v1/users', { method: 'POST', body: JSON.stringify(newUser()), headers: { 'content-type': '' } })
      await expectProblem(res, 415, 'unsupported_media_type')
    })

    it('accepts application/json with a charset', async () => {
      expect((await t.raw('/v1/users', json(newUser(), 'application/json; charset=utf-8'))).status).toBe(201)
    })

    it('returns 413 before parsing a body over the limit (Content-Length)', async () => {
      const body = JSON.stringify(newUser({ metadata: { blob: 'x'.repeat(70 * 1024) } }))
      await expectProblem(await t.raw('/v1/users', json(body)), 413, 'payload_too_large')
    })

    it('returns 413 for a streamed body over the limit (no Content-Length)', async () => {
      const chunk = new TextEncoder().encode(' '.repeat(16 * 1024))
      let sent = 0
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 10) controller.enqueue(chunk)
          else controller.close()
        },
      })
      const res = await t.raw('/v1/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream })
      await expectProblem(res, 413, 'payload_too_large')
      expect(sent).toBeLessThan(10)
    })
  })
})

describe('indexes', () => {
  it('can be created again, as on every restart', async () => {
    await t.users.ensureIndexes()
    await t.users.ensureIndexes()
    const names = (await t.collection.indexes()).map((index) => index.name).sort()
    expect(names).toEqual([
      '_id_',
      'createdAt_id',
      'emailKey_unique',
      'externalIdKey_unique',
      'outboxSince',
      'purgeAt',
      'usernameKey_unique',
    ])
  })
})
