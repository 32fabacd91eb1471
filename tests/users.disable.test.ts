import { describe, expect, it } from 'bun:test'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import { newUser, useTestApp } from './helpers/context'
import { apiKey } from './helpers/keys'
import { expectProblem, pointers } from './helpers/problem'

/**
 * Disable with expiry (API.md v1.1): `disabledUntil` and `disabledReason` with status "disabled"
 * (users:admin); once `disabledUntil` has passed the user is active in every read, list filter
 * and verify, with no write. Time is the test's clock, shared by the stores and the service.
 */
const writer = apiKey('writer', ['users:read', 'users:write'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])

let now = Date.parse('2026-12-01T12:00:00.000Z')
const clock = () => new Date(now)
const at = (offsetMs: number) => new Date(now + offsetMs).toISOString()
const HOUR = 3_600_000

const t = await useTestApp({
  name: 'disable',
  clock,
  deps: {
    config: testConfig({ legacyRoutes: true }),
    authenticator: createAuthenticator({ apiKeys: [writer.entry, admin.entry], jwt: undefined }),
  },
})

type Key = { key: string }
const send = (method: string, path: string, key: Key, body?: unknown, headers: Record<string, string> = {}) =>
  t.raw(path, {
    method,
    headers: {
      authorization: `Bearer ${key.key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
type Body = Record<string, unknown> & { id: string; version: number; status: string }
const create = async (fields: Record<string, unknown>, key: Key = admin): Promise<Body> => {
  const res = await send('POST', '/v1/users', key, newUser({ password: 'the right password', ...fields }))
  expect(res.status).toBe(201)
  return (await res.json()) as Body
}
const read = async (id: string) => (await (await send('GET', `/v1/users/${id}`, admin)).json()) as Body
const verify = (login: string, password = 'the right password') => send('POST', '/v1/auth/verify', admin, { login, password })

describe('POST /v1/users with a disable', () => {
  it('stores disabledUntil and disabledReason with status disabled', async () => {
    const user = await create({ status: 'disabled', disabledUntil: at(HOUR), disabledReason: '  chargeback review ' })
    expect(user).toMatchObject({ status: 'disabled', disabledUntil: at(HOUR), disabledReason: 'chargeback review' })
  })

  it.each([
    ['disabledUntil without a status', { disabledUntil: at(HOUR) }, 'body:/disabledUntil'],
    ['disabledReason with status active', { status: 'active', disabledReason: 'x' }, 'body:/disabledReason'],
    ['disabledUntil in the past', { status: 'disabled', disabledUntil: at(-1) }, 'body:/disabledUntil'],
    ['disabledUntil now', { status: 'disabled', disabledUntil: at(0) }, 'body:/disabledUntil'],
    ['disabledUntil with an offset', { status: 'disabled', disabledUntil: '2099-01-01T00:00:00+01:00' }, 'body:/disabledUntil'],
    ['disabledUntil not a date', { status: 'disabled', disabledUntil: '2026-02-30T00:00:00Z' }, 'body:/disabledUntil'],
    ['a 201-character reason', { status: 'disabled', disabledReason: 'r'.repeat(201) }, 'body:/disabledReason'],
    ['a reason with a control character', { status: 'disabled', disabledReason: 'a\u0007b' }, 'body:/disabledReason'],
  ])('refuses %s with 400, storing nothing', async (_, fields, pointer) => {
    const body = newUser(fields)
    const problem = await expectProblem(await send('POST', '/v1/users', admin, body), 400, 'validation_failed')
    expect(pointers(problem)).toEqual([pointer])
    expect(await t.collection.countDocuments({ username: body.username })).toBe(0)
  })

  it('needs users:admin', async () => {
    const res = await send('POST', '/v1/users', writer, newUser({ status: 'disabled', disabledUntil: at(HOUR) }))
    expect((await expectProblem(res, 403, 'forbidden')).detail).toContain('users:admin')
  })
})

describe('PATCH /v1/users/{id} with a disable', () => {
  const patch = (id: string, body: unknown, key: Key = admin, headers: Record<string, string> = {}) =>
    send('PATCH', `/v1/users/${id}`, key, body, headers)

  it('disables until a time, changes the time, makes it open-ended, and clears everything with status active', async () => {
    const user = await create({})
    let res = await patch(user.id, { status: 'disabled', disabledUntil: at(HOUR), disabledReason: 'review' })
    expect(await res.json()).toMatchObject({ status: 'disabled', disabledUntil: at(HOUR), disabledReason: 'review', version: 2 })
    res = await patch(user.id, { disabledUntil: at(2 * HOUR) })
    expect(await res.json()).toMatchObject({ disabledUntil: at(2 * HOUR), disabledReason: 'review', version: 3 })
    res = await patch(user.id, { disabledUntil: null })
    const open = (await res.json()) as Body
    expect(open).toMatchObject({ status: 'disabled', disabledReason: 'review', version: 4 })
    expect(open).not.toHaveProperty('disabledUntil')
    res = await patch(user.id, { status: 'active' })
    const active = (await res.json()) as Body
    expect(active).toMatchObject({ status: 'active', version: 5 })
    expect(active).not.toHaveProperty('disabledReason')
    const stored = await t.collection.findOne({ username: user.username })
    expect(stored).not.toHaveProperty('disabledReason')
    expect(stored).not.toHaveProperty('disabledUntil')
  })

  it('keeps the details when status disabled is sent again, without a new version', async () => {
    const user = await create({ status: 'disabled', disabledUntil: at(HOUR), disabledReason: 'review' })
    const res = await patch(user.id, { status: 'disabled' })
    expect(await res.json()).toMatchObject({ status: 'disabled', disabledUntil: at(HOUR), disabledReason: 'review', version: 1 })
  })

  it('refuses details for a user that is not disabled, with 400 naming the field', async () => {
    const user = await create({})
    for (const body of [{ disabledUntil: at(HOUR) }, { disabledReason: 'x' }, { status: 'active', disabledUntil: at(HOUR) }]) {
      const problem = await expectProblem(await patch(user.id, body), 400, 'validation_failed')
      expect(pointers(problem)).toEqual([`body:/${Object.keys(body).find((key) => key !== 'status')}`])
    }
    expect((await read(user.id)).version).toBe(1)
  })

  it('refuses a disabledUntil in the past', async () => {
    const user = await create({ status: 'disabled' })
    const problem = await expectProblem(await patch(user.id, { disabledUntil: at(-HOUR) }), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['body:/disabledUntil'])
  })

  it('needs users:admin for the details, as for the status', async () => {
    const user = await create({}, writer)
    for (const body of [{ disabledUntil: null }, { disabledReason: 'x' }]) {
      expect((await expectProblem(await patch(user.id, body, writer), 403, 'forbidden')).detail).toContain('users:admin')
    }
  })
})

describe('a disable that runs out', () => {
  it('reads as active, without the details, with no write and the same version', async () => {
    const user = await create({ status: 'disabled', disabledUntil: at(HOUR), disabledReason: 'review' })
    expect(await read(user.id)).toMatchObject({ status: 'disabled', disabledUntil: at(HOUR) })
    now += HOUR
    const later = await read(user.id)
    expect(later).toMatchObject({ status: 'active', version: 1, updatedAt: user.updatedAt })
    expect(later).not.toHaveProperty('disabledUntil')
    expect(later).not.toHaveProperty('disabledReason')
    // Nothing was written: the stored document still says disabled.
    expect(await t.collection.findOne({ username: user.username })).toMatchObject({ status: 'disabled', version: 1 })
  })

  it('moves between the status filters, in pages, cursors and totals alike', async () => {
    const role = 'moderator'
    const team = Array.from({ length: 5 }, (_, i) => i)
    const users: Body[] = []
    for (const i of team) {
      users.push(await create({ role, ...(i < 3 ? { status: 'disabled', disabledUntil: at((i + 1) * HOUR) } : {}) }))
    }
    const mine = new Set(users.map((user) => user.id))
    /** Every page of `status` (2 per page), and the total reported with the first. */
    const walk = async (status: string) => {
      const found: Body[] = []
      let cursor: string | null = null
      let total: number | undefined
      do {
        const query: string = `status=${status}&role=${role}&limit=2&includeTotal=true${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
        const page = (await (await send('GET', `/v1/users?${query}`, admin)).json()) as {
          items: Body[]
          nextCursor: string | null
          total: number
        }
        total ??= page.total
        found.push(...page.items)
        cursor = page.nextCursor
      } while (cursor)
      const ours = found.filter((user) => mine.has(user.id))
      expect(ours.every((user) => user.status === status)).toBe(true)
      return { count: ours.length, total, listed: found.length }
    }
    expect(await walk('disabled')).toMatchObject({ count: 3 })
    expect(await walk('active')).toMatchObject({ count: 2 })
    now += 2 * HOUR
    const disabled = await walk('disabled')
    const active = await walk('active')
    expect(disabled.count).toBe(1)
    expect(active.count).toBe(4)
    // The total counts with the same filter as the pages.
    expect(disabled.total).toBe(disabled.listed)
    expect(active.total).toBe(active.listed)
    now += HOUR
    expect((await walk('disabled')).count).toBe(0)
  })

  it('reads as active on the compatibility routes too (is_active)', async () => {
    const user = await create({ status: 'disabled', disabledUntil: at(HOUR) })
    const legacyRead = async () =>
      (await (await send('GET', `/read/${encodeURIComponent(user.username as string)}`, admin)).json()) as Body
    expect(await legacyRead()).toMatchObject({ is_active: false })
    now += HOUR
    expect(await legacyRead()).toMatchObject({ is_active: true })
  })

  it('lets the user sign in', async () => {
    const user = await create({ status: 'disabled', disabledUntil: at(HOUR) })
    const refused = await expectProblem(await verify(user.username as string), 403, 'user_disabled')
    expect(refused.disabledUntil).toBe(at(HOUR))
    now += HOUR
    const res = await verify(user.username as string)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { user: Body }).user).toMatchObject({ id: user.id, status: 'active' })
  })

  it('lets a users:write caller change the user, as any active user', async () => {
    const user = await create({ status: 'disabled', disabledUntil: at(HOUR) })
    const before = await send('PATCH', `/v1/users/${user.id}`, writer, { displayName: 'Back' })
    expect((await expectProblem(before, 403, 'forbidden')).detail).toContain('users:admin')
    now += HOUR
    const after = await send('PATCH', `/v1/users/${user.id}`, writer, { displayName: 'Back' })
    expect(after.status).toBe(200)
    expect(await after.json()).toMatchObject({ displayName: 'Back', status: 'active', version: 2 })
  })

  it('counts status active as no change, and a new disable starts without the old details', async () => {
    const user = await create({ status: 'disabled', disabledUntil: at(HOUR), disabledReason: 'old reason' })
    now += HOUR
    const same = await send('PATCH', `/v1/users/${user.id}`, admin, { status: 'active' })
    expect(await same.json()).toMatchObject({ status: 'active', version: 1 })
    const again = await send('PATCH', `/v1/users/${user.id}`, admin, { status: 'disabled' })
    const disabled = (await again.json()) as Body
    expect(disabled).toMatchObject({ status: 'disabled', version: 2 })
    expect(disabled).not.toHaveProperty('disabledReason')
    expect(disabled).not.toHaveProperty('disabledUntil')
  })
})

describe('POST /v1/auth/verify of a disabled user', () => {
  it('answers 403 user_disabled only after the right password, without disabledUntil when open-ended', async () => {
    const user = await create({ status: 'disabled' })
    await expectProblem(await verify(user.username as string, 'a wrong password'), 401, 'invalid_credentials')
    const problem = await expectProblem(await verify(user.username as string), 403, 'user_disabled')
    expect(problem).not.toHaveProperty('disabledUntil')
    // A disabled user is not signed in.
    expect(await read(user.id)).not.toHaveProperty('lastSignInAt')
  })
})
