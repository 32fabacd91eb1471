import { describe, expect, it } from 'bun:test'
import { useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

const t = await useTestApp({ name: 'delete' })

describe('DELETE /v1/users/{id}', () => {
  it('deletes the user: 204, then 404 for reads and deletes', async () => {
    const user = await t.createUser()
    const res = await t.api.v1.users[':id'].$delete({ param: { id: user.id } })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    await expectProblem(await t.api.v1.users[':id'].$get({ param: { id: user.id } }), 404, 'user_not_found')
    await expectProblem(await t.api.v1.users[':id'].$delete({ param: { id: user.id } }), 404, 'user_not_found')
    expect(await t.collection.countDocuments({ username: user.username })).toBe(0)
  })

  it('frees the username and email for a new user', async () => {
    const user = await t.createUser()
    await t.api.v1.users[':id'].$delete({ param: { id: user.id } })
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
    expect(await t.collection.countDocuments({ username: user.username })).toBe(1)
  })

  it('returns 404 (not 412) for an unknown id with If-Match', async () => {
    const res = await t.raw('/v1/users/0123456789abcdef01234567', { method: 'DELETE', headers: { 'If-Match': '"1"' } })
    await expectProblem(res, 404, 'user_not_found')
  })
})
