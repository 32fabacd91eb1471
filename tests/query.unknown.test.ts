import { describe, expect, it } from 'bun:test'
import { newUser, useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

/**
 * API.md: "Unknown fields, in bodies and in query strings, are rejected with 400 rather than
 * ignored." The lists have strict query schemas; every other /v1 operation refuses a query
 * parameter it does not declare (src/http/only-query.ts) before doing anything: a black-box review
 * found `PATCH ...?dryRun=true` applied and `?includedeleted=true` (a typo) ignored.
 */
const t = await useTestApp({ name: 'query_unknown' })
const ID = '0123456789abcdef01234567'
const json = (method: string, body: unknown, type = 'application/json') => ({
  method,
  headers: { 'content-type': type },
  body: JSON.stringify(body),
})

async function expectUnknown(res: Response, names: string[]) {
  const problem = await expectProblem(res, 400, 'validation_failed')
  expect(problem.errors).toEqual(
    names.map((name) => ({ location: 'query', pointer: `/${name}`, code: 'unknown_field', message: expect.any(String) })),
  )
}

describe('a query parameter an operation does not declare', () => {
  it.each([
    ['GET', `/v1/users/${ID}`, undefined],
    ['GET', '/v1/users/by-username/alice', undefined],
    ['GET', '/v1/users/by-email/alice@example.com', undefined],
    ['POST', '/v1/users', json('POST', newUser())],
    ['PATCH', `/v1/users/${ID}`, json('PATCH', { displayName: 'x' }, 'application/merge-patch+json')],
    ['DELETE', `/v1/users/${ID}`, undefined],
    ['POST', `/v1/users/${ID}/restore`, undefined],
    ['POST', `/v1/users/${ID}/erase`, undefined],
    ['POST', '/v1/auth/verify', json('POST', { login: 'alice', password: 'correct horse battery staple' })],
    ['GET', '/v1/webhooks', undefined],
    ['POST', '/v1/webhooks', json('POST', { url: 'https://example.com/hook' })],
    ['GET', '/v1/webhooks/wh_01J0000000000000000000000A', undefined],
    ['PATCH', '/v1/webhooks/wh_01J0000000000000000000000A', json('PATCH', { description: 'x' }, 'application/merge-patch+json')],
    ['DELETE', '/v1/webhooks/wh_01J0000000000000000000000A', undefined],
    ['POST', '/v1/webhooks/wh_01J0000000000000000000000A/rotate-secret', undefined],
    ['POST', '/v1/webhooks/wh_01J0000000000000000000000A/deliveries/dlv_01J0000000000000000000000A/retry', undefined],
  ])('%s %s?dryRun=true is a 400 naming it, not a request without it', async (method, path, init) => {
    await expectUnknown(await t.raw(`${path}?dryRun=true&x=1&x=2`, init ?? { method }), ['dryRun', 'x'])
  })

  it('changes nothing: a PATCH, a create and a delete refused for their query do not happen', async () => {
    const user = await t.createUser()
    const patch = json('PATCH', { displayName: 'Changed' }, 'application/merge-patch+json')
    await expectUnknown(await t.raw(`/v1/users/${user.id}?dryRun=true`, patch), ['dryRun'])
    await expectUnknown(await t.raw(`/v1/users/${user.id}?force=1`, { method: 'DELETE' }), ['force'])
    const fresh = newUser()
    await expectUnknown(await t.raw('/v1/users?validateOnly=true', json('POST', fresh)), ['validateOnly'])
    const stored = (await (await t.raw(`/v1/users/${user.id}`)).json()) as { version: number; displayName?: string }
    expect(stored.version).toBe(user.version)
    expect(stored.displayName).not.toBe('Changed')
    expect(await t.collection.countDocuments({ username: fresh.username })).toBe(0)
  })

  it('keeps what an operation declares: includeDeleted on a read by id, but not a misspelt one', async () => {
    const user = await t.createUser()
    expect((await t.raw(`/v1/users/${user.id}?includeDeleted=false`)).status).toBe(200)
    await expectUnknown(await t.raw(`/v1/users/${user.id}?includedeleted=true`), ['includedeleted'])
    // The lists' own strict schemas say the same of theirs.
    const list = await expectProblem(await t.raw('/v1/users?dryRun=true'), 400, 'validation_failed')
    expect(list.errors).toMatchObject([{ location: 'query', pointer: '/dryRun', code: 'unknown_field' }])
  })
})
