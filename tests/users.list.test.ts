import { beforeAll, describe, expect, it } from 'bun:test'
import type { ListUsersQuery, User } from '../src/client'
import { useTestApp } from './helpers/context'
import { expectProblem, pointers } from './helpers/problem'

// A controlled clock: users are created in groups of three sharing one createdAt, so the
// _id tie-breaker is exercised on every page boundary.
let tick = 0
const base = Date.parse('2026-01-01T00:00:00.000Z')
const t = await useTestApp({ name: 'list', clock: () => new Date(base + Math.floor(tick++ / 3) * 1000) })

const ROLES = ['user', 'moderator', 'admin'] as const
const seeded: User[] = []

beforeAll(async () => {
  const names = Array.from({ length: 31 }, (_, i) => (i % 2 ? `Zed.${i}` : `alpha${String(i).padStart(2, '0')}`))
  for (const [i, username] of names.entries()) {
    const res = await t.api.v1.users.$post({
      json: {
        username,
        email: i % 5 === 0 ? `Mail.${i}@Example.com` : `${username.toLowerCase()}@example.org`,
        role: ROLES[i % 3],
        status: i % 4 === 0 ? 'disabled' : 'active',
      },
    })
    if (res.status !== 201) throw new Error(`seed failed: ${res.status}`)
    seeded.push(await res.json())
  }
})

type Query = Exclude<ListUsersQuery, undefined>

async function page(query: Query) {
  const res = await t.api.v1.users.$get({ query })
  if (res.status !== 200) throw new Error(`list failed: ${res.status} ${await res.text()}`)
  return res.json()
}

/** Follows nextCursor to the end, returning every id in order and the number of pages. */
async function walk(query: Query, between?: () => Promise<void>) {
  const ids: string[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const body = await page({ ...query, ...(cursor ? { cursor } : {}) })
    ids.push(...body.items.map((u) => u.id))
    cursor = body.nextCursor ?? undefined
    pages++
    if (between) await between()
  } while (cursor)
  return { ids, pages }
}

function expected(filter: (u: User) => boolean, sort: string): string[] {
  const byCreated = (a: User, b: User) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)
  // Byte order of the lower-cased key, as the database compares it (not the locale's order).
  const key = (u: User) => u.username.toLowerCase()
  const byName = (a: User, b: User) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)
  const compare = sort.endsWith('username') ? byName : byCreated
  const sorted = seeded.filter(filter).sort(compare)
  return (sort.startsWith('-') ? sorted.reverse() : sorted).map((u) => u.id)
}

describe('GET /v1/users', () => {
  it('returns the first page newest first with a cursor', async () => {
    const body = await page({})
    expect(body.items).toHaveLength(20)
    expect(body.items.map((u) => u.id)).toEqual(expected(() => true, '-createdAt').slice(0, 20))
    expect(body.nextCursor).toBeString()
    expect(body.total).toBeUndefined()
  })

  it('adds total when includeTotal=true', async () => {
    const body = await page({ includeTotal: 'true', status: 'disabled', limit: '2' })
    expect(body.total).toBe(seeded.filter((u) => u.status === 'disabled').length)
    expect(body.items).toHaveLength(2)
  })

  const filters: [string, Query, (u: User) => boolean][] = [
    ['no filter', {}, () => true],
    ['role', { role: 'moderator' }, (u) => u.role === 'moderator'],
    ['status', { status: 'disabled' }, (u) => u.status === 'disabled'],
    ['role and status', { role: 'user', status: 'active' }, (u) => u.role === 'user' && u.status === 'active'],
    ['q on username', { q: 'ZED.1' }, (u) => u.username.toLowerCase().startsWith('zed.1')],
    ['q on email', { q: 'mail.' }, (u) => u.email.toLowerCase().startsWith('mail.')],
  ]
  for (const [name, filter, predicate] of filters) {
    for (const sort of ['createdAt', '-createdAt', 'username', '-username'] as const) {
      it(`walks every page with ${name}, sorted by ${sort}: no duplicates, no gaps`, async () => {
        const want = expected(predicate, sort)
        expect(want.length).toBeGreaterThan(3)
        const { ids, pages } = await walk({ ...filter, sort, limit: '3' })
        expect(ids).toEqual(want)
        expect(pages).toBe(Math.ceil(want.length / 3))
      })
    }
  }

  it('matches q as a literal prefix, not a pattern', async () => {
    expect((await page({ q: 'zed.' })).items.length).toBeGreaterThan(0)
    // As regexes, these would match alpha01 and every name starting with "a".
    expect((await page({ q: 'alpha0.' })).items).toEqual([])
    expect((await page({ q: 'a+' })).items).toEqual([])
  })

  for (const sort of ['createdAt', '-createdAt', 'username', '-username'] as const) {
    it(`stays stable while users are inserted during a walk sorted by ${sort}`, async () => {
      const before = expected(() => true, sort)
      let inserted = 0
      try {
        // The new names sort into every part of the walk: before, inside and after the cursor.
        const { ids } = await walk({ sort, limit: '4' }, async () => {
          for (const prefix of ['aaa', 'mmm', 'zzz']) {
            const username = `${prefix}late${inserted++}`
            const res = await t.api.v1.users.$post({ json: { username, email: `${username}@example.net` } })
            expect(res.status).toBe(201)
          }
        })
        expect(ids.filter((id) => before.includes(id))).toEqual(before)
        expect(new Set(ids).size).toBe(ids.length)
      } finally {
        // Keeps the other tests' expectations exact.
        await t.collection.deleteMany({ username: /late/ })
      }
    })
  }

  it('accepts limits 1 and 100', async () => {
    expect((await page({ limit: '1' })).items).toHaveLength(1)
    expect((await page({ limit: '100' })).items).toHaveLength(seeded.length)
    expect((await page({ limit: '100' })).nextCursor).toBeNull()
  })

  describe('bad queries', () => {
    it.each([
      ['limit=0', '/limit'],
      ['limit=101', '/limit'],
      ['limit=abc', '/limit'],
      ['limit=2.5', '/limit'],
      // Digits only: Number() would read these (a consumer's review).
      ['limit=0x10', '/limit'],
      ['limit=1e1', '/limit'],
      ['limit=%2B2', '/limit'],
      ['limit=2.0', '/limit'],
      ['limit=%2010', '/limit'],
      ['limit=', '/limit'],
      ['sort=email', '/sort'],
      ['role=root', '/role'],
      ['status=gone', '/status'],
      ['includeTotal=yes', '/includeTotal'],
      ['q=', '/q'],
      ['q=a b', '/q'],
      ['q=a%2Fb', '/q'],
      ['q=a%00b', '/q'],
      ['q=%E2%80%A8', '/q'],
      ['q=al%20ice', '/q'],
      ['role=user&role=admin', '/role'],
      ['role[$ne]=user', '/role[$ne]'],
      ['q[$regex]=.*', '/q[$regex]'],
      ['stauts=active', '/stauts'],
      ['__proto__[admin]=1', '/__proto__[admin]'],
    ])('returns 400 for %s', async (qs, pointer) => {
      const problem = await expectProblem(await t.raw(`/v1/users?${qs}`), 400, 'validation_failed')
      expect(pointers(problem)).toEqual([`query:${pointer}`])
    })

    it('returns 400 for a cursor reused with other filters or sort', async () => {
      const first = await page({ limit: '2', role: 'user' })
      for (const other of [{ role: 'admin' as const }, { role: 'user' as const, sort: 'username' as const }, {}]) {
        const res = await t.api.v1.users.$get({ query: { limit: '2', cursor: first.nextCursor!, ...other } })
        const problem = await expectProblem(res, 400, 'validation_failed')
        expect(problem.errors?.[0]).toMatchObject({ location: 'query', pointer: '/cursor', code: 'cursor_mismatch' })
      }
    })

    it.each([
      ['garbage', 'not a cursor!'],
      ['base64 of junk', Buffer.from('junk').toString('base64url')],
      ['wrong types', Buffer.from(JSON.stringify({ v: 1, f: '0'.repeat(16), k: { $gt: '' }, i: 'x' })).toString('base64url')],
    ])('returns 400 for a cursor that is %s', async (_, cursor) => {
      const res = await t.api.v1.users.$get({ query: { cursor } })
      const problem = await expectProblem(res, 400, 'validation_failed')
      expect(problem.errors?.[0]).toMatchObject({ pointer: '/cursor', code: 'invalid_cursor' })
    })
  })
})
