import { describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { createAuthenticator } from '../src/auth/authenticate'
import { createBunPasswordHasher } from '../src/users/passwords.bun'
import { newUser, useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

let now = Date.parse('2026-11-25T12:00:00.000Z')
const clock = () => new Date(now)
const t = await useTestApp({ name: 'idempotency', clock })

type App = Awaited<ReturnType<typeof useTestApp>>
const post = (body: unknown, key: string | undefined, app: App = t, headers: Record<string, string> = {}) =>
  app.raw('/v1/users', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
const freshKey = () => crypto.randomUUID()

describe('Idempotency-Key on POST /v1/users', () => {
  it('replays the first answer for the same key and body: same status, id, ETag and Location', async () => {
    const key = freshKey()
    const body = newUser({ metadata: { a: 1, b: 2 } })
    const first = await post(body, key)
    expect(first.status).toBe(201)
    const user = await first.json()
    // The same body with its keys in another order is the same request.
    const reordered = JSON.stringify({ metadata: { b: 2, a: 1 }, email: body.email, username: body.username })
    const again = await post(reordered, key)
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.headers.get('etag')).toBe(first.headers.get('etag'))
    expect(again.headers.get('location')).toBe(first.headers.get('location'))
    expect(again.headers.get('content-type')).toStartWith('application/json')
    expect(await again.json()).toEqual(user)
    expect(await t.collection.countDocuments({ username: body.username })).toBe(1)
  })

  it('answers 422 idempotency_key_reused for the same key with another body, creating nothing', async () => {
    const key = freshKey()
    expect((await post(newUser(), key)).status).toBe(201)
    const other = newUser()
    await expectProblem(await post(other, key), 422, 'idempotency_key_reused')
    expect(await t.collection.countDocuments({ username: other.username })).toBe(0)
  })

  it('keeps no conflict: a retry runs again, and succeeds once the name is free', async () => {
    const taken = await t.createUser()
    const key = freshKey()
    const body = newUser({ username: taken.username })
    const first = await expectProblem(await post(body, key), 409, 'username_taken')
    // The answer names another user's username: nothing of it is kept under the key.
    expect(await t.db.collection('idempotency_keys').countDocuments({ 'response.status': 409 })).toBe(0)
    const again = await post(body, key)
    expect(again.headers.get('idempotent-replayed')).toBeNull()
    const second = await expectProblem(again, 409, 'username_taken')
    expect(second.requestId).not.toBe(first.requestId)
    expect((await t.raw(`/v1/users/${taken.id}`, { method: 'DELETE' })).status).toBe(204)
    const created = await post(body, key)
    expect(created.status).toBe(201)
    // From now on the key replays that create.
    const replayed = await post(body, key)
    expect(replayed.headers.get('idempotent-replayed')).toBe('true')
    expect(await replayed.json()).toEqual(await created.json())
  })

  it('keeps nothing for a server error, so a retry can succeed', async () => {
    let failures = 1
    const flaky = await useTestApp({
      name: 'idempotency_flaky',
      deps: {
        users: {
          ...t.users,
          create: async (input) => {
            if (failures-- > 0) throw new Error('transient')
            return t.users.create(input)
          },
        },
      },
    })
    const key = freshKey()
    const body = newUser()
    await expectProblem(await post(body, key, flaky), 500, 'internal_error')
    const retried = await post(body, key, flaky)
    expect(retried.status).toBe(201)
    expect(retried.headers.get('idempotent-replayed')).toBeNull()
  })

  it('does not count the password value, only whether one was sent', async () => {
    const key = freshKey()
    const body = newUser()
    expect((await post({ ...body, password: 'first password' }, key)).status).toBe(201)
    const again = await post({ ...body, password: 'second password' }, key)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    await expectProblem(await post(body, key), 422, 'idempotency_key_reused')
  })

  it('forgets a key after 24 hours', async () => {
    const key = freshKey()
    expect((await post(newUser(), key)).status).toBe(201)
    now += 24 * 60 * 60 * 1000 + 1000
    const later = await post(newUser(), key)
    expect(later.status).toBe(201)
    expect(later.headers.get('idempotent-replayed')).toBeNull()
  })

  it.each([['a'.repeat(256)], ['has space'], ['tab\tinside'], ['é']])('answers 400 for the key %j', async (key) => {
    const res = await post(newUser(), key)
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(problem.errors?.[0]).toMatchObject({ location: 'header', pointer: '/idempotency-key' })
  })

  it('leaves requests without a key alone', async () => {
    const body = newUser()
    expect((await post(body, undefined)).status).toBe(201)
    await expectProblem(await post(body, undefined), 409, 'username_taken')
  })
})

describe('Idempotency-Key across callers, instances and crashes', () => {
  // A hasher that waits at a gate the test opens: the first request is surely still running when
  // the second arrives.
  const bun = createBunPasswordHasher()
  const { promise: hashing, resolve: hashStarted } = Promise.withResolvers<void>()
  const { promise: gate, resolve: openGate } = Promise.withResolvers<void>()
  const gatedPasswords = {
    hash: async (password: string) => {
      hashStarted()
      await gate
      return bun.hash(password)
    },
    verify: bun.verify,
  }

  it('answers 409 idempotency_key_in_use while the first request runs, on two instances sharing the database', async () => {
    const a = await useTestApp({ name: 'idempotency_a', deps: { passwords: gatedPasswords } })
    const b = await useTestApp({ name: 'idempotency_b', deps: { passwords: gatedPasswords }, sameDatabaseAs: a })
    const key = freshKey()
    const body = { ...newUser(), password: 'slow to hash' }
    const first = post(body, key, a)
    await hashing // the first request holds the key and is inside the create
    const second = await post(body, key, b)
    openGate()
    await expectProblem(second, 409, 'idempotency_key_in_use')
    const created = await first
    expect(created.status).toBe(201)
    expect(second.headers.get('retry-after')).toBe('1')
    // Once the first is done, the other instance replays it.
    const replay = await post(body, key, b)
    expect(replay.status).toBe(201)
    expect((await replay.json()).id).toBe((await created.json()).id)
    expect(await a.collection.countDocuments({ username: body.username })).toBe(1)
  })

  it('scopes keys to the caller', async () => {
    const keyOf = (name: string) => {
      const token = `usk_${randomBytes(16).toString('hex')}`
      return {
        token,
        entry: {
          name,
          sha256: createHash('sha256').update(token).digest('hex'),
          scopes: ['users:read' as const, 'users:write' as const],
        },
      }
    }
    const [one, two] = [keyOf('service-one'), keyOf('service-two')]
    const app = await useTestApp({
      name: 'idempotency_callers',
      deps: { authenticator: createAuthenticator({ apiKeys: [one.entry, two.entry], jwt: undefined }) },
    })
    const key = freshKey()
    expect((await post(newUser(), key, app, { authorization: `Bearer ${one.token}` })).status).toBe(201)
    expect((await post(newUser(), key, app, { authorization: `Bearer ${two.token}` })).status).toBe(201)
  })

  it('takes over a key whose first request died with its instance, and the dead one cannot undo it', async () => {
    // The "dead" instance: its create never finishes until the test lets it fail at the end.
    let failDead: (error: Error) => void = () => {}
    const dead = await useTestApp({
      name: 'idempotency_dead',
      clock,
      deps: {
        users: { ...t.users, create: () => new Promise((_, reject) => (failDead = reject)) },
      },
      sameDatabaseAs: t,
    })
    const key = freshKey()
    const body = newUser()
    const deadResponse = post(body, key, dead)
    await Bun.sleep(200) // its claim is in the database now
    await expectProblem(await post(body, key), 409, 'idempotency_key_in_use')

    now += 61_000 // past the claim's lock: the owner is presumed dead
    const taken = await post(body, key)
    expect(taken.status).toBe(201)

    // The dead request finally fails: its release must not remove the new owner's answer.
    failDead(new Error('gone'))
    expect((await deadResponse).status).toBe(500)
    const replay = await post(body, key)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect((await replay.json()).id).toBe((await taken.json()).id)
  })
})
