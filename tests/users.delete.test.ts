import { describe, expect, it } from 'bun:test'
import { testConfig } from '../src/config'
import { useTestApp } from './helpers/context'
import { startRelay } from './helpers/events'
import { expectProblem } from './helpers/problem'

const t = await useTestApp({ name: 'delete' })

describe('DELETE /v1/users/{id}', () => {
  it('deletes the user for every read, list, write and verify: 204, then 404, and 401 as for an unknown login', async () => {
    const password = 'correct horse battery'
    const user = await t.createUser({ password })
    const res = await t.api.v1.users[':id'].$delete({ param: { id: user.id } })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    await expectProblem(await t.api.v1.users[':id'].$get({ param: { id: user.id } }), 404, 'user_not_found')
    const byUsername = await t.api.v1.users['by-username'][':username'].$get({ param: { username: user.username } })
    await expectProblem(byUsername, 404, 'user_not_found')
    await expectProblem(await t.api.v1.users['by-email'][':email'].$get({ param: { email: user.email } }), 404, 'user_not_found')
    const patched = await t.api.v1.users[':id'].$patch({ param: { id: user.id }, json: { displayName: 'Back?' } })
    await expectProblem(patched, 404, 'user_not_found')
    await expectProblem(await t.api.v1.users[':id'].$delete({ param: { id: user.id } }), 404, 'user_not_found')
    const listed = await t.api.v1.users.$get({ query: { q: user.username, includeTotal: 'true' } })
    expect(await listed.json()).toEqual({ items: [], nextCursor: null, total: 0 })
    for (const login of [user.username, user.email]) {
      await expectProblem(await t.api.v1.auth.verify.$post({ json: { login, password } }), 401, 'invalid_credentials')
    }
    // Kept for a restore, with its name and address released, at the next version.
    const stored = await t.collection.findOne({ username: user.username })
    expect(stored).toMatchObject({ deletedAt: expect.any(Date), purgeAt: expect.any(Date), version: 2 })
    expect(stored?.usernameKey).toBe(`\u0000deleted:${user.id}`)
    expect(stored?.emailKey).toBe(`\u0000deleted:${user.id}`)
  })

  it('frees the username and email at once, compared case-insensitively', async () => {
    const user = await t.createUser()
    await t.api.v1.users[':id'].$delete({ param: { id: user.id } })
    const again = await t.api.v1.users.$post({ json: { username: user.username.toUpperCase(), email: user.email.toUpperCase() } })
    if (again.status !== 201) throw new Error(`create again: ${again.status}`)
    // Deleted users never hold a key: a second deleted user does not collide with the first.
    const second = await again.json()
    expect((await t.api.v1.users[':id'].$delete({ param: { id: second.id } })).status).toBe(204)
    expect((await t.api.v1.users.$post({ json: { username: user.username, email: user.email } })).status).toBe(201)
  })

  it('returns 400 for a malformed id', async () => {
    await expectProblem(await t.raw('/v1/users/xyz', { method: 'DELETE' }), 400, 'validation_failed')
  })

  it('deletes when If-Match names the current version', async () => {
    const user = await t.createUser()
    const res = await t.api.v1.users[':id'].$delete({ param: { id: user.id } }, { headers: { 'If-Match': '"1"' } })
    expect(res.status).toBe(204)
  })

  it('returns 412 with the current ETag when If-Match is stale, deleting nothing', async () => {
    const user = await t.createUser()
    await t.raw(`/v1/users/${user.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"displayName":"v2"}',
    })
    const res = await t.raw(`/v1/users/${user.id}`, { method: 'DELETE', headers: { 'If-Match': '"1"' } })
    await expectProblem(res, 412, 'precondition_failed')
    expect(res.headers.get('etag')).toBe('"2"')
    expect(await t.collection.countDocuments({ username: user.username, deletedAt: { $exists: false } })).toBe(1)
  })

  it('returns 404 (not 412) for an unknown id with If-Match', async () => {
    const res = await t.raw('/v1/users/0123456789abcdef01234567', { method: 'DELETE', headers: { 'If-Match': '"1"' } })
    await expectProblem(res, 404, 'user_not_found')
  })
})

describe('DELETE /v1/users/{id} with USER_RETENTION_DAYS=0', () => {
  it('removes the user at once: nothing to read or restore; its document goes once its event is relayed', async () => {
    const now = await useTestApp({ name: 'delete_retention_0', deps: { config: testConfig({ userRetentionDays: 0 }) } })
    const user = await now.createUser({ displayName: 'Gone' })
    expect((await now.api.v1.users[':id'].$delete({ param: { id: user.id } })).status).toBe(204)
    // The document stays (unreadable, its keys released) until the relay has taken its user.deleted event.
    const relay = await startRelay(now, { hold: true })
    await relay.drain()
    await relay.stop()
    await now.users.purge()
    expect(await now.collection.countDocuments({})).toBe(0)
    const read = await now.raw(`/v1/users/${user.id}?includeDeleted=true`)
    await expectProblem(read, 404, 'user_not_found')
    await expectProblem(await now.raw(`/v1/users/${user.id}/restore`, { method: 'POST' }), 404, 'user_not_found')
    expect((await now.api.v1.users.$post({ json: { username: user.username, email: user.email } })).status).toBe(201)
  })
})
