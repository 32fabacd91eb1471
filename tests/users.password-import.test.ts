import { describe, expect, it } from 'bun:test'
import { ObjectId } from 'mongodb'
import { createAuthenticator } from '../src/auth/authenticate'
import reference from './fixtures/reference-hashes.json'
import { newUser, useTestApp } from './helpers/context'
import { apiKey } from './helpers/keys'
import { expectProblem, pointers } from './helpers/problem'

/**
 * Password hash import (API.md v1.1): `passwordHash` on create and PATCH, users:admin only, in the
 * accepted formats; verify checks it with its own scheme and then stores our argon2id instead,
 * which is not a change (same version, updatedAt and ETag). The hashes are the reference
 * implementations' (tests/fixtures/reference-hashes.json), not ours.
 */
const writer = apiKey('writer', ['users:read', 'users:write'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])

const t = await useTestApp({
  name: 'password_import',
  deps: { authenticator: createAuthenticator({ apiKeys: [writer.entry, admin.entry], jwt: undefined }) },
})

const send = (method: string, path: string, key: { key: string }, body: unknown) =>
  t.raw(path, {
    method,
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
const verify = (login: string, password: string) => send('POST', '/v1/auth/verify', admin, { login, password })
const storedHash = async (id: string) => (await t.collection.findOne({ _id: new ObjectId(id) }))?.passwordHash as string

const bcrypt = reference.hashes.find((entry) => entry.name === 'bcrypt $2a$ cost 4')!

describe('POST /v1/users with passwordHash', () => {
  it.each(reference.hashes.map((entry) => [entry.name, entry] as const))(
    'imports %s: verifies with it, then holds our argon2id, not a change',
    async (_, entry) => {
      const res = await send('POST', '/v1/users', admin, newUser({ passwordHash: entry.hash }))
      expect(res.status).toBe(201)
      const text = await res.text()
      expect(text).not.toContain(entry.hash)
      const user = JSON.parse(text)
      expect(user.hasPassword).toBe(true)
      expect(await storedHash(user.id)).toBe(entry.hash)

      await expectProblem(await verify(user.username, `!${entry.password}`), 401, 'invalid_credentials')
      expect(await storedHash(user.id)).toBe(entry.hash)

      const signedIn = await verify(user.username, entry.password)
      expect(signedIn.status).toBe(200)
      const after = await storedHash(user.id)
      if (entry.rehash) expect(after).toStartWith('$argon2id$v=19$m=65536,t=2,p=1$')
      else expect(after).toBe(entry.hash)
      const read = await send('GET', `/v1/users/${user.id}`, admin, undefined)
      expect(read.headers.get('etag')).toBe('"1"')
      expect(await read.json()).toMatchObject({ version: 1, updatedAt: user.updatedAt, lastSignInAt: expect.any(String) })
      // And the password still works against what is stored now.
      expect((await verify(user.username, entry.password)).status).toBe(200)
    },
    20_000,
  )

  it('needs users:admin', async () => {
    const res = await send('POST', '/v1/users', writer, newUser({ passwordHash: bcrypt.hash }))
    expect((await expectProblem(res, 403, 'forbidden')).detail).toContain('users:admin')
  })

  it('refuses password and passwordHash together', async () => {
    const body = newUser({ password: 'long enough secret', passwordHash: bcrypt.hash })
    const problem = await expectProblem(await send('POST', '/v1/users', admin, body), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:/passwordHash'])
  })

  it.each([
    ['a plain password', 'correct horse battery staple'],
    ['MD5 crypt', '$1$saltsalt$qjXMvbEw8oaL.CzflDugX/'],
    ['bcrypt cost 31', bcrypt.hash.replace('$04$', '$31$')],
    [
      'PBKDF2 with 100 million iterations',
      '$pbkdf2-sha256$100000000$0RrDuDeG0LqXMkaoFQIAgA$N/rfIlJH/DizsvvR91qDookjt8fHe8HkpUc7Pqchc7g',
    ],
    ['a $ injected into a Django salt', 'pbkdf2_sha256$1000$a$b$iZP1VC0sjUuio11ZrzREgJgjlWLbUppPkmXZrmfhKeI='],
    ['a huge string', `$argon2id$v=19$m=65536,t=2,p=1$${'A'.repeat(20_000)}`],
  ])('refuses %s with 400 at /passwordHash, without quoting it', async (_, hash) => {
    const body = newUser({ passwordHash: hash })
    const res = await send('POST', '/v1/users', admin, body)
    const text = await res.clone().text()
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:/passwordHash'])
    expect(text).not.toContain(hash.slice(0, 40))
    expect(await t.collection.countDocuments({ username: body.username })).toBe(0)
  })
})

describe('PATCH /v1/users/{id} with passwordHash', () => {
  it('replaces the password with the imported hash, as a change', async () => {
    const created = await send('POST', '/v1/users', admin, newUser({ password: 'the old password' }))
    const user = await created.json()
    const res = await send('PATCH', `/v1/users/${user.id}`, admin, { passwordHash: bcrypt.hash })
    expect(await res.json()).toMatchObject({ hasPassword: true, version: 2 })
    await expectProblem(await verify(user.username, 'the old password'), 401, 'invalid_credentials')
    expect((await verify(user.username, bcrypt.password)).status).toBe(200)
  })

  it('needs users:admin, and refuses it with password', async () => {
    const user = await (await send('POST', '/v1/users', writer, newUser())).json()
    await expectProblem(await send('PATCH', `/v1/users/${user.id}`, writer, { passwordHash: bcrypt.hash }), 403, 'forbidden')
    const both = { passwordHash: bcrypt.hash, password: 'long enough secret' }
    const problem = await expectProblem(await send('PATCH', `/v1/users/${user.id}`, admin, both), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:/passwordHash'])
  })
})

describe('the upgrade after a sign-in', () => {
  it('never overwrites a password changed since the hash was read', async () => {
    const user = await (await send('POST', '/v1/users', admin, newUser({ passwordHash: bcrypt.hash }))).json()
    // The password changes between a sign-in's read of the old hash and its upgrade write.
    await send('PATCH', `/v1/users/${user.id}`, admin, { password: 'changed meanwhile' })
    const changed = await storedHash(user.id)
    const at = new Date().toISOString()
    await t.users.recordSignIn(user.id, { at, rehash: { from: bcrypt.hash, to: '$argon2id$v=19$m=65536,t=2,p=1$upgrade' } })
    expect(await storedHash(user.id)).toBe(changed)
    // The sign-in's time is still recorded.
    expect(await t.users.findById(user.id)).toMatchObject({ lastSignInAt: at, version: 2 })
    expect((await verify(user.username, 'changed meanwhile')).status).toBe(200)
  })
})
