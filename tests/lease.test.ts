import { afterAll, describe, expect, it } from 'bun:test'
import { createLease, type Lease } from '../src/db/lease'
import { connectDatabase } from '../src/db/mongo'

/**
 * The fenced lease (src/db/lease.ts) on the run's database: two instances (each its own lease
 * object and clock) contend for one document. Clocks are injected, so "the holder stopped
 * renewing 10 s ago" is a clock moved forward, not a wait.
 */
const database = await connectDatabase(globalThis.testMongoUri, `test_lease_${crypto.randomUUID().slice(0, 8)}`)
const state = database.db.collection<{ _id: string; token?: number; owner?: string; leaseUntil?: Date; mine?: number }>(
  'events_state',
)
const started: Lease[] = []

afterAll(async () => {
  await Promise.all(started.map((lease) => lease.stop()))
  await database.db.dropDatabase()
  await database.close()
})

/** A clock that moves only when told. */
function manualClock(start = Date.parse('2026-11-30T08:00:00.000Z')) {
  let now = start
  return {
    now: () => new Date(now),
    advance: (ms: number) => {
      now += ms
    },
  }
}

function lease(name: string, clock: () => Date, owner: string, changes: boolean[] = []): Lease {
  const created = createLease(database, {
    collection: 'events_state',
    name,
    ttlMs: 10_000,
    renewEveryMs: 20,
    owner,
    clock,
    onChange: (held) => changes.push(held),
  })
  started.push(created)
  return created
}

/** Waits (bounded) until `condition` holds: the leases tick on their own timers. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return
    await Bun.sleep(10)
  }
  throw new Error(`timed out waiting until ${what}`)
}

describe('createLease', () => {
  it('has one holder at a time, which keeps its token while it renews', async () => {
    const clock = manualClock()
    const a = lease('one-holder', clock.now, 'a')
    const b = lease('one-holder', clock.now, 'b')
    a.start()
    await until(() => a.held(), 'a holds the lease')
    b.start()
    // b has tried (and failed) many times by the time a has renewed many times.
    const renewedUntil = async () => (await state.findOne({ _id: 'one-holder' }))?.leaseUntil?.getTime()
    const first = await renewedUntil()
    clock.advance(1000)
    await until(async () => (await renewedUntil()) !== first, 'a renews at the new time')
    expect(a.token()).toBe(1)
    expect(b.held()).toBe(false)
    expect(b.token()).toBeUndefined()
    expect(await state.findOne({ _id: 'one-holder' })).toMatchObject({ owner: 'a', token: 1 })
  })

  it('is taken over with a new token once its holder stops renewing, and fences the old holder out', async () => {
    const clockA = manualClock()
    const clockB = manualClock()
    const changesA: boolean[] = []
    const a = lease('takeover', clockA.now, 'a', changesA)
    a.start()
    await until(() => a.held(), 'a holds the lease')
    const tokenA = a.token() as number
    // The holder's state document: a write fenced by the token, as the dispatcher's cursor is.
    await state.updateOne({ _id: 'takeover', token: tokenA }, { $set: { mine: 1 } })

    // b's clock is past a's lease (a paused: its clock stands still and it does not renew in time).
    clockB.advance(10_001)
    const b = lease('takeover', clockB.now, 'b')
    b.start()
    await until(() => b.held(), 'b takes the lease over')
    expect(b.token()).toBe(tokenA + 1)
    // a learns at its next renewal that the lease is gone.
    await until(() => !a.held(), 'a sees it has lost the lease')
    expect(changesA).toEqual([true, false])
    const fenced = await state.updateOne({ _id: 'takeover', token: tokenA }, { $set: { mine: 2 } })
    expect(fenced.matchedCount).toBe(0)
    expect(await state.findOne({ _id: 'takeover' })).toMatchObject({ owner: 'b', token: tokenA + 1, mine: 1 })
  })

  it('stops counting as held by its own clock when it could not renew in time', async () => {
    const clock = manualClock()
    const a = lease('own-clock', clock.now, 'a')
    a.start()
    await until(() => a.held(), 'a holds the lease')
    // The renewal writes at `now`; with the clock past the lease's end, a no longer holds it,
    // whatever the database says.
    await a.stop()
    const b = lease('own-clock', clock.now, 'b')
    b.start()
    await until(() => b.held(), 'b takes it')
    clock.advance(10_000)
    expect(b.held()).toBe(false)
    expect(b.token()).toBeUndefined()
  })

  it('is given up by stop(), so another instance takes it at once', async () => {
    const clock = manualClock()
    const a = lease('given-up', clock.now, 'a')
    const b = lease('given-up', clock.now, 'b')
    a.start()
    await until(() => a.held(), 'a holds the lease')
    b.start()
    await a.stop()
    expect(a.held()).toBe(false)
    // No clock moves: b takes it only because a gave it up.
    await until(() => b.held(), 'b takes the given-up lease')
    expect(b.token()).toBe(2)
  })

  it('has exactly one winner when several instances start together on a new document', async () => {
    const clock = manualClock()
    const contenders = ['p', 'q', 'r', 's', 't'].map((owner) => lease('together', clock.now, owner))
    for (const contender of contenders) contender.start()
    await until(() => contenders.some((contender) => contender.held()), 'someone holds the lease')
    await Bun.sleep(100)
    expect(contenders.filter((contender) => contender.held())).toHaveLength(1)
    expect((await state.findOne({ _id: 'together' }))?.token).toBe(1)
  })

  it('refuses a renewal interval that is not below the ttl', () => {
    expect(() => createLease(database, { collection: 'events_state', name: 'x', ttlMs: 1000, renewEveryMs: 1000 })).toThrow(
      RangeError,
    )
  })
})
