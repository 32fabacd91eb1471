import { afterAll, describe, expect, it } from 'bun:test'
import { createLease, type Lease } from '../src/db/lease'
import { connectDatabase } from '../src/db/mongo'

/**
 * The fenced lease (src/db/lease.ts) on the run's server: one holder at a time, takeover only
 * once a term has run out (by the taker's clock), a new token each term, and the old holder's
 * writes refused by that token. Clocks are injected, so "expired" is a value, not a wait.
 */
const database = await connectDatabase(globalThis.testMongoUri, `test_lease_${crypto.randomUUID().slice(0, 8)}`)
const handle = database
afterAll(async () => {
  await database.db.dropDatabase()
  await database.close()
})

/** Resolves with the next value `onChange` reports. */
function changes() {
  const seen: boolean[] = []
  const waiters: ((held: boolean) => void)[] = []
  return {
    onChange: (held: boolean) => {
      const waiter = waiters.shift()
      if (waiter) waiter(held)
      else seen.push(held)
    },
    next: () => new Promise<boolean>((resolve) => (seen.length > 0 ? resolve(seen.shift() as boolean) : waiters.push(resolve))),
  }
}

const leaseOn = (name: string, clock: () => Date, onChange?: (held: boolean) => void): Lease =>
  createLease(handle, {
    collection: 'leases',
    name,
    ttlMs: 10_000,
    renewEveryMs: 20,
    clock,
    ...(onChange ? { onChange } : {}),
  })

describe('createLease', () => {
  it('is held by one instance at a time', async () => {
    const now = () => new Date()
    const a = changes()
    const first = leaseOn('single', now, a.onChange)
    first.start()
    expect(await a.next()).toBe(true)
    const second = leaseOn('single', now)
    second.start()
    // A few rounds of the second one's attempts: it never gets the lease while the first renews.
    for (let i = 0; i < 5; i++) {
      await Bun.sleep(25)
      expect(second.held()).toBe(false)
      expect(second.token()).toBeUndefined()
    }
    expect(first.held()).toBe(true)
    expect(first.token()).toBe(1)
    await second.stop()
    await first.stop()
  })

  it('is taken over once its term has run out, with a higher token, and the old holder then lets go', async () => {
    let later = 0
    const a = changes()
    const b = changes()
    const first = leaseOn('takeover', () => new Date(), a.onChange)
    first.start()
    expect(await a.next()).toBe(true)
    const oldToken = first.token() as number
    // The second instance's clock is past the first one's term: to it, the lease has expired.
    later = 60_000
    const second = leaseOn('takeover', () => new Date(Date.now() + later), b.onChange)
    second.start()
    expect(await b.next()).toBe(true)
    expect(second.token()).toBe(oldToken + 1)
    // The first one's next renewal is refused by the token: it knows it lost the lease.
    expect(await a.next()).toBe(false)
    expect(first.held()).toBe(false)
    expect(first.token()).toBeUndefined()
    const state = await database.db.collection('leases').findOne({ _id: 'takeover' as never })
    expect(state).toMatchObject({ owner: second.owner, token: oldToken + 1 })
    await first.stop()
    await second.stop()
  })

  it('fences the old holder: a write filtered on its token matches nothing after a takeover', async () => {
    const a = changes()
    const b = changes()
    const first = leaseOn('fenced', () => new Date(), a.onChange)
    first.start()
    expect(await a.next()).toBe(true)
    const paused = first.token() as number
    // The holder stops renewing (paused), its term runs out, another takes over.
    await first.stop()
    const second = leaseOn('fenced', () => new Date(), b.onChange)
    second.start()
    expect(await b.next()).toBe(true)
    const state = database.db.collection<{ _id: string; token: number; work?: string }>('leases')
    const byOld = await state.updateOne({ _id: 'fenced', token: paused }, { $set: { work: 'old' } })
    const byNew = await state.updateOne({ _id: 'fenced', token: second.token() as number }, { $set: { work: 'new' } })
    expect(byOld.matchedCount).toBe(0)
    expect(byNew.matchedCount).toBe(1)
    await second.stop()
  })

  it('is released by stop, so the next instance takes it without waiting for the term to run out', async () => {
    const a = changes()
    const b = changes()
    const first = leaseOn('release', () => new Date(), a.onChange)
    first.start()
    expect(await a.next()).toBe(true)
    await first.stop()
    expect(await a.next()).toBe(false)
    const second = leaseOn('release', () => new Date(), b.onChange)
    second.start()
    // Same clock as the first: only the release can have made the lease available.
    expect(await b.next()).toBe(true)
    expect(second.token()).toBe(2)
    await second.stop()
  })

  it('stops counting itself the holder when its term runs out unrenewed', async () => {
    let offset = 0
    const a = changes()
    const lease = createLease(handle, {
      collection: 'leases',
      name: 'expiring',
      ttlMs: 10_000,
      renewEveryMs: 60_000,
      clock: () => new Date(Date.now() + offset),
      onChange: a.onChange,
    })
    lease.start()
    expect(await a.next()).toBe(true)
    // No renewal has run (the next is a minute away), and the clock is past the term.
    offset = 20_000
    expect(lease.held()).toBe(false)
    expect(lease.token()).toBeUndefined()
    await lease.stop()
  })

  it('keeps other fields of its document', async () => {
    const state = database.db.collection<{ _id: string; lastSequence?: number }>('leases')
    await state.insertOne({ _id: 'shared', lastSequence: 41 })
    const a = changes()
    const lease = leaseOn('shared', () => new Date(), a.onChange)
    lease.start()
    expect(await a.next()).toBe(true)
    expect(await state.findOne({ _id: 'shared' })).toMatchObject({ lastSequence: 41, token: 1, owner: lease.owner })
    await lease.stop()
  })
})
