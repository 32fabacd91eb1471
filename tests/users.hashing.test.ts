import { describe, expect, it } from 'bun:test'
import { createBunPasswordHasher } from '../src/users/passwords.bun'
import { json, newUser, useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

/**
 * Issue 13, finding 4 (the part about wasted work): argon2id costs about 100 ms of CPU, so a
 * create (or a PATCH) whose username or email is already taken is refused before hashing, in the
 * common case. The unique indexes still decide a race between two writes.
 */
const hasher = createBunPasswordHasher()
let hashes = 0
const t = await useTestApp({
  name: 'hashing',
  deps: {
    passwords: {
      ...hasher,
      hash: (password) => {
        hashes++
        return hasher.hash(password)
      },
    },
  },
})

const patch = (id: string, body: object) =>
  t.raw(`/v1/users/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('POST /v1/users with a password', () => {
  it('refuses a taken username with 409 without hashing the password', async () => {
    const taken = await t.createUser()
    hashes = 0
    const res = await t.raw(
      '/v1/users',
      json(newUser({ username: taken.username.toUpperCase(), password: 'long enough secret' })),
    )
    await expectProblem(res, 409, 'username_taken')
    expect(hashes).toBe(0)
  })

  it('refuses a taken email with 409 without hashing the password', async () => {
    const taken = await t.createUser()
    hashes = 0
    const res = await t.raw('/v1/users', json(newUser({ email: taken.email.toUpperCase(), password: 'long enough secret' })))
    await expectProblem(res, 409, 'email_taken')
    expect(hashes).toBe(0)
  })

  it('hashes once for a free username and email', async () => {
    hashes = 0
    expect((await t.raw('/v1/users', json(newUser({ password: 'long enough secret' })))).status).toBe(201)
    expect(hashes).toBe(1)
  })
})

describe('PATCH /v1/users/{id} with a password', () => {
  it('refuses a taken username or email with 409 without hashing the password', async () => {
    const [user, other] = [await t.createUser(), await t.createUser()]
    hashes = 0
    await expectProblem(await patch(user.id, { username: other.username, password: 'long enough secret' }), 409, 'username_taken')
    await expectProblem(await patch(user.id, { email: other.email, password: 'long enough secret' }), 409, 'email_taken')
    expect(hashes).toBe(0)
  })

  it("hashes when the username sent is the user's own", async () => {
    const user = await t.createUser()
    hashes = 0
    const res = await patch(user.id, { username: user.username.toUpperCase(), password: 'long enough secret' })
    expect(res.status).toBe(200)
    expect(hashes).toBe(1)
  })
})
