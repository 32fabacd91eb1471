import { describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { addressKey, EndUserAddressSchema } from '../src/credentials/client-address'
import type { Counter } from '../src/credentials/failed-attempts'
import { counterDigests } from '../src/credentials/failed-attempts.digests'
import { createFailedAttempts } from '../src/credentials/failed-attempts.repository'
import { useTestApp } from './helpers/context'

/**
 * The failed-attempt counters as a store (src/credentials/failed-attempts.repository.ts), on the
 * run's database: atomic limits, refused requests that change nothing, erasure, digests.
 */
let now = Date.parse('2026-11-25T12:00:00.000Z')
const clock = () => new Date(now)
const t = await useTestApp({ name: 'failed_attempts' })
const attempts = createFailedAttempts(t.database, { windowSeconds: 600, clock })
await attempts.ensureIndexes()
const collection = t.db.collection<{ _id: string; count: number; subject?: string; kind: string }>('auth_failures')
const ids = counterDigests(undefined)

const unique = () => randomBytes(6).toString('hex')
const countOf = async (counter: Counter) => (await collection.findOne({ _id: ids.id(counter) }))?.count ?? 0
async function fill(counter: Counter, times: number) {
  for (let i = 0; i < times; i++) expect(await attempts.take([{ counter, limit: 1000 }])).toBeNull()
}

describe('failed attempts: take', () => {
  it('lets exactly the limit through when 20 attempts on one counter race', async () => {
    const counter: Counter = { kind: 'ip', address: `2001:db8:${unique().slice(0, 4)}::/64` }
    const results = await Promise.all(Array.from({ length: 20 }, () => attempts.take([{ counter, limit: 7 }])))
    expect(results.filter((r) => r === null)).toHaveLength(7)
    expect(results.filter((r) => r?.kind === 'ip')).toHaveLength(13)
    expect(await countOf(counter)).toBe(7)
  })

  it('changes no counter when the first one refuses', async () => {
    const client: Counter = { kind: 'client', client: `c-${unique()}` }
    const login: Counter = { kind: 'login', subject: { login: `l-${unique()}` } }
    await fill(client, 3)
    const refusal = await attempts.take([
      { counter: client, limit: 3 },
      { counter: login, limit: 5 },
    ])
    expect(refusal).toEqual({ kind: 'client', retryAfterSeconds: 600 })
    expect(await countOf(client)).toBe(3)
    expect(await countOf(login)).toBe(0)
  })

  it('gives back what it took from earlier counters when a later one refuses', async () => {
    const address = `2001:db8:${unique().slice(0, 4)}::/64`
    const ip: Counter = { kind: 'ip', address }
    const login: Counter = { kind: 'login', subject: { userId: unique() }, address }
    await fill(ip, 2)
    await fill(login, 5)
    now += 100_000
    const refusal = await attempts.take([
      { counter: ip, limit: 10 },
      { counter: login, limit: 5 },
    ])
    expect(refusal).toEqual({ kind: 'login', retryAfterSeconds: 500 })
    expect(await countOf(ip)).toBe(2)
    expect(await countOf(login)).toBe(5)
  })

  it('starts a new window once the old one has ended', async () => {
    const counter: Counter = { kind: 'client', client: `w-${unique()}` }
    await fill(counter, 2)
    expect(await attempts.take([{ counter, limit: 2 }])).toMatchObject({ kind: 'client' })
    now += 601_000
    expect(await attempts.take([{ counter, limit: 2 }])).toBeNull()
    expect(await countOf(counter)).toBe(1)
  })
})

describe('failed attempts: forgetSubjects', () => {
  it("deletes every counter of a user's id and logins, from any address, and no other", async () => {
    const userId = unique()
    const username = `Erased.${unique()}`
    const email = `${username}@Example.com`
    const address = '2001:db8:1:2::/64'
    const mine: Counter[] = [
      { kind: 'login', subject: { userId } },
      { kind: 'login', subject: { userId }, address },
      { kind: 'login', subject: { login: username.toLowerCase() } },
      { kind: 'login', subject: { login: email.toUpperCase() }, address: '192.0.2.1' },
    ]
    const others: Counter[] = [
      { kind: 'login', subject: { userId: unique() } },
      { kind: 'login', subject: { login: `someone-else-${unique()}` }, address },
      { kind: 'ip', address },
      { kind: 'client', client: 'frontend' },
    ]
    for (const counter of [...mine, ...others]) await fill(counter, 1)

    await attempts.forgetSubjects({ userId, logins: [username, email] })

    for (const counter of mine) expect(await countOf(counter)).toBe(0)
    for (const counter of others) expect(await countOf(counter)).toBe(1)
  })

  it('uses an index on subject (the query MongoDB runs is anchored on it)', async () => {
    const indexes = await collection.indexes()
    expect(indexes.map((index) => index.key)).toContainEqual({ subject: 1 })
  })
})

describe('failed attempts: storage', () => {
  it('stores no login, user id, address or client name, only keyed digests', async () => {
    const userId = `uid${unique()}`
    const login = `secret.login.${unique()}@example.com`
    const address = `192.0.2.${Math.floor(Math.random() * 250)}`
    const client = `client-${unique()}`
    await attempts.take([
      { counter: { kind: 'ip', address }, limit: 5 },
      { counter: { kind: 'login', subject: { userId }, address }, limit: 5 },
    ])
    await attempts.take([
      { counter: { kind: 'client', client }, limit: 5 },
      { counter: { kind: 'login', subject: { login } }, limit: 5 },
    ])
    const stored = JSON.stringify(await collection.find({}).toArray())
    for (const value of [userId, login, login.split('@')[0]!, address, client]) expect(stored).not.toContain(value)
  })

  it('keys digests with the secret: another secret counts apart', async () => {
    const other = createFailedAttempts(t.database, { windowSeconds: 600, clock, secret: 'another secret, 32 characters long' })
    const counter: Counter = { kind: 'client', client: `s-${unique()}` }
    await fill(counter, 2)
    expect(await other.take([{ counter, limit: 2 }])).toBeNull()
    expect(await attempts.take([{ counter, limit: 2 }])).toMatchObject({ kind: 'client' })
  })
})

describe('end-user addresses (the ip field)', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['0.0.0.0', '0.0.0.0'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:cb00:7107', '203.0.113.7'],
    ['0:0:0:0:0:ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002::ffff', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::203.0.113.7', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
  ])('accepts %s and counts it as %s', (ip, key) => {
    expect(EndUserAddressSchema.safeParse(ip).success).toBe(true)
    expect(addressKey(ip)).toBe(key)
  })

  it.each(['010.0.0.1', '1.2.3.4.5', '127.1', 'fe80::1%eth0', '::ffff:01.2.3.4', '2001:db8::/32', '[::1]', '1:2:3:4:5:6:7:8:9'])(
    'refuses %s',
    (ip) => {
      expect(EndUserAddressSchema.safeParse(ip).success).toBe(false)
    },
  )
})
