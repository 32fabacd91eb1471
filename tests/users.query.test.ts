import { describe, expect, it } from 'bun:test'
import { createBunPasswordHasher } from '../src/users/passwords.bun'
import type { StoredQueryTerms } from '../src/users/users.model'
import { createUsersService } from '../src/users/users.service'
import { useTestApp } from './helpers/context'

/**
 * The users service's read for surfaces with a filter language of their own (SCIM: findByQuery),
 * and the removal of a password (SCIM's `remove` of `password`). On a moving clock: the status a
 * query selects is the status now.
 */
let now = Date.parse('2026-11-25T12:00:00.000Z')
const clock = () => new Date(now)
const t = await useTestApp({ name: 'users_query', clock })
const service = createUsersService({ users: t.users, passwords: createBunPasswordHasher(), clock })
const admin = { authority: { admin: true } }

/** A tag no other test's users share, so results can be checked whole. */
const tag = () => `q${crypto.randomUUID().slice(0, 8)}`
const byTag = (prefix: string) => (terms: StoredQueryTerms) => ({ [terms.fields.usernameKey]: new RegExp(`^${prefix}`) })

async function created(prefix: string, count: number) {
  const users = []
  for (let i = 0; i < count; i++) {
    now += 1000
    users.push(await t.createUser({ username: `${prefix}-${i}`, email: `${prefix}-${i}@example.com` }))
  }
  return users
}

describe('users service: findByQuery', () => {
  it('returns live users oldest first, a window of them, and the total of every match', async () => {
    const prefix = tag()
    const users = await created(prefix, 5)
    const page = await service.findByQuery(byTag(prefix), { offset: 1, limit: 2 })
    expect(page.total).toBe(5)
    expect(page.items.map((user) => user.id)).toEqual([users[1]!.id, users[2]!.id])
    const rest = await service.findByQuery(byTag(prefix), { offset: 3, limit: 10 })
    expect(rest).toMatchObject({ total: 5, items: [{ id: users[3]!.id }, { id: users[4]!.id }] })
    const past = await service.findByQuery(byTag(prefix), { offset: 9, limit: 10 })
    expect(past).toEqual({ items: [], total: 5 })
    expect(await service.findByQuery(byTag(prefix), { offset: 0, limit: 0 })).toEqual({ items: [], total: 5 })
  })

  it('orders users created in the same millisecond by id, the same on every page', async () => {
    const prefix = tag()
    const users = await Promise.all([0, 1, 2, 3].map((i) => t.createUser({ username: `${prefix}-${i}` })))
    const ids = users.map((user) => user.id).sort()
    const pages = [0, 1, 2, 3].map((offset) => service.findByQuery(byTag(prefix), { offset, limit: 1 }))
    expect((await Promise.all(pages)).map((page) => page.items[0]?.id)).toEqual(ids)
  })

  it('never finds deleted users', async () => {
    const prefix = tag()
    const [kept, gone] = await created(prefix, 2)
    expect((await service.delete({ by: 'id', value: gone!.id }, admin)).kind).toBe('deleted')
    expect(await service.findByQuery(byTag(prefix), { offset: 0, limit: 10 })).toMatchObject({
      total: 1,
      items: [{ id: kept!.id }],
    })
    // Not even by id, whose not-deleted condition the storage adds.
    expect(await service.findByQuery((terms) => terms.id(gone!.id), { offset: 0, limit: 10 })).toEqual({ items: [], total: 0 })
  })

  it("selects by the status users have now: a disable that has run out is active, with the storage's own rule", async () => {
    const prefix = tag()
    const [active, until, forever] = await created(prefix, 3)
    const disable = (id: string, disabledUntil?: string) =>
      service.update({ by: 'id', value: id }, { status: 'disabled', ...(disabledUntil ? { disabledUntil } : {}) }, admin)
    await disable(until!.id, new Date(now + 60_000).toISOString())
    await disable(forever!.id)
    const withStatus = (status: 'active' | 'disabled') => async () =>
      (
        await service.findByQuery((terms) => ({ $and: [byTag(prefix)(terms), terms.status(status)] }), { offset: 0, limit: 10 })
      ).items.map((user) => user.id)
    expect(await withStatus('active')()).toEqual([active!.id])
    expect(await withStatus('disabled')()).toEqual([until!.id, forever!.id])
    now += 120_000
    expect(await withStatus('active')()).toEqual([active!.id, until!.id])
    expect(await withStatus('disabled')()).toEqual([forever!.id])
  })

  it("asks nothing when the query can match nobody ('none')", async () => {
    expect(await service.findByQuery(() => 'none', { offset: 0, limit: 10 })).toEqual({ items: [], total: 0 })
  })
})

describe('users service: update with password null', () => {
  it('removes the password: a change, one version up, and the user no longer has one', async () => {
    const user = await t.createUser({ password: 'correct horse battery' })
    expect(user.hasPassword).toBe(true)
    const outcome = await service.update({ by: 'id', value: user.id }, { password: null }, admin)
    expect(outcome).toMatchObject({ kind: 'updated', user: { hasPassword: false, version: user.version + 1 } })
    expect(await t.collection.findOne({ username: user.username }, { projection: { passwordHash: 1 } })).not.toHaveProperty(
      'passwordHash',
    )
    expect(await service.findLogin(user.username).then((login) => login?.verify('correct horse battery'))).toBe(false)
  })

  it('changes nothing for a user without a password', async () => {
    const user = await t.createUser()
    const outcome = await service.update({ by: 'id', value: user.id }, { password: null }, admin)
    expect(outcome).toMatchObject({ kind: 'unchanged', user: { hasPassword: false, version: user.version } })
  })
})
