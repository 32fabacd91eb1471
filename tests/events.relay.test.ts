import { describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { BSON } from 'mongodb'
import type { RelayStep } from '../src/events/events.relay'
import { scanPause } from '../src/events/events.relay.steps'
import { createMetrics } from '../src/observability/metrics'
import { eventually } from './helpers/abort'
import { useTestApp } from './helpers/context'
import { allEvents, expectWholeFeed, startRelay } from './helpers/events'

/**
 * The relay's steps under the faults docs/events.md names: a batch stopped after each step and
 * finished by the next lease holder, a paused holder whose lease was taken over (fenced), catch-up
 * after downtime, the replay's self-check, and the erase race. Each test has its own database, so
 * its relays are the only ones there. Relays run with `loop: false` where the test drives them.
 */
type World = Awaited<ReturnType<typeof useTestApp>>

const patch = (world: World, id: string, body: object) =>
  world.raw(`/v1/users/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify(body),
  })

/** The feed as a consumer reads it (every visible event), as text. */
const feedText = async (world: World) => (await world.raw('/v1/events?limit=500')).text()

/** The world's events store, counting the relay's reads of its state (`reads.count`, settable). */
function countingStateReads(world: World) {
  const reads = { count: 0 }
  const events = {
    ...world.stores.events,
    state: () => {
      reads.count++
      return world.stores.events.state()
    },
  }
  return { events, reads }
}

/** `count` users, each patched `patches` times: (1 + patches) changes each. */
async function changes(world: World, count: number, patches: number): Promise<string[]> {
  const users = await Promise.all(Array.from({ length: count }, () => world.createUser()))
  for (let round = 1; round <= patches; round++) {
    for (const user of users) expect((await patch(world, user.id, { displayName: `round ${round}` })).status).toBe(200)
  }
  return users.map((user) => user.id)
}

describe('the relay: a batch left half done is finished by the next holder', () => {
  it.each<RelayStep>(['recorded', 'inserted', 'popped'])(
    'stopped after %s: the next holder finishes it, with no gap and no duplicate',
    async (step) => {
      const world = await useTestApp({ name: `relay_${step}` })
      await changes(world, 4, 2)
      const crashing = await startRelay(world, {
        loop: false,
        onStep: (at) => {
          if (at === step) throw new Error(`stopped after ${at}`)
        },
      })
      expect(crashing.drain()).rejects.toThrow(`stopped after ${step}`)
      await eventually(
        async () => (await world.db.collection('events_state').findOne({}))?.batch,
        (batch) => batch !== null && batch !== undefined,
      )
      const left = await world.db.collection('events_state').findOne({})
      expect(left).toMatchObject({ batch: { first: 1, last: 12 }, visibleThrough: 0, lastSequence: 12 })
      // Nothing of the batch is visible while it is not committed.
      expect((await (await world.raw('/v1/events')).json()).items).toEqual([])
      await crashing.stop()

      const next = await startRelay(world, { loop: false })
      expect(await next.drain()).toBe(12)
      await expectWholeFeed(world, 12)
      expect(next.logger.lines.some((line) => line.message === 'events relay: finishing a recorded batch')).toBe(true)
    },
  )
})

describe('the relay: fencing', () => {
  it("refuses a paused holder's writes once another has taken its lease over", async () => {
    const world = await useTestApp({ name: 'relay_fenced' })
    await changes(world, 3, 1)
    let resume: () => void = () => {}
    const { promise: isPaused, resolve: paused } = Promise.withResolvers<void>()
    const steps: RelayStep[] = []
    const slow = await startRelay(world, {
      loop: false,
      onStep: async (step) => {
        steps.push(step)
        if (step !== 'recorded') return
        paused()
        await new Promise<void>((resolve) => {
          resume = resolve
        })
      },
    })
    const stalled = slow.drain()
    await isPaused
    // To this instance's clock the paused holder's term is long over: it takes the lease, with a new token.
    const taker = await startRelay(world, { loop: false, lease: { clock: () => new Date(Date.now() + 60_000) } })
    expect(await taker.drain()).toBe(6)
    await changes(world, 2, 0)
    expect(await taker.drain()).toBe(2)
    // The relay's fields (the lease's own, leaseUntil, move with the taker's renewals).
    const relayState = async () => {
      const state = await world.db.collection('events_state').findOne({})
      return {
        visibleThrough: state?.visibleThrough,
        lastSequence: state?.lastSequence,
        batch: state?.batch,
        token: state?.token,
        owner: state?.owner,
      }
    }
    const before = await relayState()
    expect(before).toMatchObject({ visibleThrough: 8, lastSequence: 8, owner: taker.lease.owner })

    // The paused holder wakes up: it inserts what is already there, pops what is gone, and its commit is refused.
    resume()
    expect(await stalled).toBe(0)
    expect(steps).toEqual(['recorded', 'inserted', 'popped'])
    // Its lease learns of the takeover at its next renewal (every 50 ms here), which the refused
    // pass may have beaten (since its pops went in one write, it often does).
    const holds = async () => slow.lease.held()
    expect(await eventually(holds, (held) => !held, 40)).toBe(false)
    expect(await relayState()).toEqual(before)
    await expectWholeFeed(world, 8)
    expect(slow.drain()).rejects.toThrow('does not hold its lease')
  })

  it('two relays running on one database move every event once', async () => {
    const world = await useTestApp({ name: 'relay_two' })
    const [one, two] = [await startRelay(world, { hold: false }), await startRelay(world, { hold: false })]
    await Promise.all(Array.from({ length: 4 }, () => changes(world, 3, 2)))
    const visible = async () => ((await world.db.collection('events_state').findOne({}))?.visibleThrough as number) ?? 0
    expect(await eventually(visible, (count) => count === 36)).toBe(36)
    await expectWholeFeed(world, 36)
    expect([one.lease.held(), two.lease.held()].filter(Boolean).length).toBeLessThanOrEqual(1)
  })
})

describe('the relay: catching up', () => {
  it('moves everything written while no relay ran, once one starts, with no hint from this process', async () => {
    const world = await useTestApp({ name: 'relay_catch_up' })
    const ids = await changes(world, 25, 1)
    expect(await world.collection.countDocuments({ 'pendingEvents.0': { $exists: true } })).toBe(25)
    // Its own loop only: its scan finds the 50 pending events (in batches of at most 20 users here).
    await startRelay(world, { hold: false, maxUsers: 20 })
    const visible = async () => ((await world.db.collection('events_state').findOne({}))?.visibleThrough as number) ?? 0
    expect(await eventually(visible, (count) => count === 50)).toBe(50)
    const events = await expectWholeFeed(world, 50)
    expect(new Set(events.map((event) => event.userId))).toEqual(new Set(ids))
  })
})

describe('the relay: telling the webhook dispatcher', () => {
  it('says so after each pass that made events visible, and never after one that moved nothing', async () => {
    const world = await useTestApp({ name: 'relay_published' })
    await changes(world, 3, 1)
    const visible = async () =>
      ((await world.db.collection('events_state').findOne({ _id: 'relay' } as never))?.visibleThrough as number) ?? 0
    // What the feed showed at each telling (read from the database then).
    const told: Promise<number>[] = []
    const relay = await startRelay(world, { loop: false, onPublished: () => told.push(visible()) })
    expect(await relay.drain()).toBe(6)
    expect(told.length).toBeGreaterThan(0)
    expect((await Promise.all(told)).at(-1)).toBe(6)
    const before = told.length
    expect(await relay.drain()).toBe(0)
    expect(told.length).toBe(before)
  })

  it('goes on when telling fails: the batch is committed, the failure only logged', async () => {
    const world = await useTestApp({ name: 'relay_published_throws' })
    await changes(world, 2, 0)
    const relay = await startRelay(world, {
      loop: false,
      onPublished: () => {
        throw new Error('the dispatcher is gone')
      },
    })
    expect(await relay.drain()).toBe(2)
    await changes(world, 1, 0)
    expect(await relay.drain()).toBe(1)
    expect(relay.logger.lines.filter((line) => line.message === 'events relay: telling of published events failed')).toHaveLength(
      2,
    )
  })
})

describe('the relay: hints', () => {
  it('relays a change noted while a pass that moved nothing was running, without waiting for the next scan', async () => {
    const world = await useTestApp({ name: 'relay_hint_in_pass' })
    const real = world.stores.outbox
    const { promise: scanStarted, resolve: scanning } = Promise.withResolvers<void>()
    const { promise: resumed, resolve: resume } = Promise.withResolvers<void>()
    let scans = 0
    // The first scan reads the outboxes (nothing pending), then stalls while a user is created.
    const outbox: typeof real = {
      ...real,
      pending: async (count, skip) => {
        const found = await real.pending(count, skip)
        if (++scans === 1) {
          scanning()
          await resumed
        }
        return found
      },
    }
    // Scans far apart: only the hint can bring the change over within the test.
    await startRelay(world, { outbox, scanEveryMs: { min: 600_000, max: 600_000 } })
    await scanStarted
    const user = await world.createUser()
    resume()
    const res = await world.raw('/v1/events?after=0&waitSeconds=3')
    expect(res.status).toBe(200)
    const page = (await res.json()) as { items: { userId: string; type: string }[] }
    expect(page.items.map((event) => [event.userId, event.type])).toEqual([[user.id, 'user.created']])
  })
})

describe('the relay: how often it scans', () => {
  const bounds = { min: 1000, max: 30_000 }

  it('waits twice as long after each scan that found nothing, up to 8 s', () => {
    expect([1, 2, 3, 4, 5, 40].map((empty) => scanPause(bounds, empty, 5))).toEqual([2000, 4000, 8000, 8000, 8000, 8000])
  })

  it('comes back to its shortest pause after a scan that found something', () => {
    expect(scanPause(bounds, 0, 5)).toBe(1000)
  })

  it('sleeps between passes until its next scan is due, instead of reading its state at a fixed tick', async () => {
    const world = await useTestApp({ name: 'relay_idle' })
    const { events, reads } = countingStateReads(world)
    await startRelay(world, { events, scanEveryMs: { min: 20, max: 10_000 } })
    reads.count = 0
    await Bun.sleep(600)
    // A pass every 20 ms would be about 30; scans 20, 40, 80, 160, 320 ms apart, about 5.
    expect(reads.count).toBeLessThan(12)
  })

  it('keeps slow scans to about 5 % of the time, within its bounds', () => {
    expect(scanPause(bounds, 0, 200)).toBe(4000)
    expect(scanPause(bounds, 1, 2000)).toBe(30_000)
    expect(scanPause({ min: 20, max: 200 }, 6, 1)).toBe(200)
  })
})

describe('the relay across a failover: reads behind its own last commit', () => {
  it('reads its state at every pass, so users read behind its last commit go to a fenced record, not under new sequences', async () => {
    const world = await useTestApp({ name: 'relay_lagging' })
    await Promise.all(Array.from({ length: 3 }, () => world.createUser()))
    // What a new primary's majority reads may show for a moment after an election (docs/events.md,
    // "Across a failover"): the outboxes and the relay's state as they were before the batch below.
    const staleUsers = await world.stores.outbox.pending(100, [])
    const staleState = await world.stores.events.state()
    const lag = { on: false }
    const outbox: typeof world.stores.outbox = {
      ...world.stores.outbox,
      pending: (count, skip) => (lag.on ? Promise.resolve(staleUsers) : world.stores.outbox.pending(count, skip)),
      read: (ids) =>
        lag.on ? Promise.resolve(staleUsers.filter((user) => ids.includes(user.id))) : world.stores.outbox.read(ids),
    }
    const events: typeof world.stores.events = {
      ...world.stores.events,
      state: () => (lag.on ? Promise.resolve(staleState) : world.stores.events.state()),
    }
    const relay = await startRelay(world, { outbox, events, loop: false })
    expect(await relay.drain()).toBe(3)
    lag.on = true
    await world.createUser()
    // Its own commit said 3; had it planned on that, the stale outboxes' three events would take
    // 4-6, their inserts refused by their ids: holes, pass after pass (its drain would not end). The
    // stale state says 0, which the record refuses.
    expect(await Promise.race([relay.drain(), Bun.sleep(2000).then(() => 'relaying the same events again')])).toBe(0)
    lag.on = false
    expect(await relay.drain()).toBe(1)
    await expectWholeFeed(world, 4)
  }, 20_000)
})

describe("the relay: the replay's self-check", () => {
  it('holds back the events of a user whose stored state the replay does not reach, says so with ids only, and goes on', async () => {
    const world = await useTestApp({ name: 'relay_check' })
    const metrics = createMetrics()
    const relay = await startRelay(world, { loop: false, metrics })
    const secret = `secret-${randomBytes(4).toString('hex')}`
    const tampered = await world.createUser({ displayName: secret })
    await relay.drain()
    // A write that bypassed the outbox (an older version of the service, a hand edit): a version with no event.
    await world.collection.updateOne({ _id: BSON.ObjectId.createFromHexString(tampered.id) }, { $inc: { version: 1 } })
    expect((await patch(world, tampered.id, { displayName: `${secret}-2` })).status).toBe(200)
    const other = await world.createUser()
    expect(await relay.drain()).toBe(1)
    const events = await allEvents(world)
    expect(events.map((event) => [event.userId, event.type])).toEqual([
      [tampered.id, 'user.created'],
      [other.id, 'user.created'],
    ])
    expect(await relay.drain()).toBe(0)
    const errors = relay.logger.lines.filter((line) => line.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.object).toEqual({ userId: tampered.id, storedVersion: 3, replayedVersion: 2 })
    expect(JSON.stringify(errors)).not.toContain(secret)
    expect(await metrics.render()).toContain('events_relay_invariant_failures_total 1')
    // Its event waits in its outbox; nothing wrong was published.
    expect((await world.collection.findOne({ displayName: `${secret}-2` }))?.pendingEvents).toHaveLength(1)
  })
})

describe('the relay: erase', () => {
  it('never shows a value of an erased user once the erase answered, also from events a relay built before the erasure and inserted after it', async () => {
    const world = await useTestApp({ name: 'relay_erase' })
    const secret = `secret-${randomBytes(4).toString('hex')}`
    const user = await world.createUser({ displayName: secret, metadata: { note: secret } })
    const first = await startRelay(world, { loop: false })
    await first.drain()
    await first.stop()
    expect(JSON.stringify(await allEvents(world))).toContain(secret)

    // A relay gathers the user's next change (with its values) and records it, then stalls...
    let resume: () => void = () => {}
    const { promise: isPaused, resolve: paused } = Promise.withResolvers<void>()
    let erased = false
    // What the feed shows after each later step of the relay, once the erase has answered.
    const seen: { step: string; feed: string }[] = []
    const slow = await startRelay(world, {
      loop: false,
      onStep: async (step, batch) => {
        if (erased) seen.push({ step: `${step} ${batch.first}`, feed: await feedText(world) })
        if (step !== 'recorded' || batch.first !== 2) return
        paused()
        await new Promise<void>((resolve) => {
          resume = resolve
        })
      },
    })
    expect((await patch(world, user.id, { displayName: `${secret}-renamed` })).status).toBe(200)
    const stalled = slow.drain()
    await isPaused
    // ...the user is erased meanwhile (its events scrubbed, its outbox ids only)...
    expect((await world.raw(`/v1/users/${user.id}/erase`, { method: 'POST' })).status).toBe(204)
    erased = true
    expect(await feedText(world)).not.toContain(secret)
    // ...and the relay inserts the change it built before, and publishes it, then the erasure.
    resume()
    expect(await stalled).toBe(2)
    expect(seen.map((entry) => entry.step)).toEqual([
      'inserted 2',
      'popped 2',
      'committed 2',
      'recorded 3',
      'inserted 3',
      'popped 3',
      'committed 3',
    ])
    for (const entry of seen) expect(entry.feed).not.toContain(secret)
    const events = await allEvents(world)
    expect(events.map((event) => [event.type, event.userVersion])).toEqual([
      ['user.created', 1],
      ['user.updated', 2],
      ['user.erased', 3],
    ])
    for (const event of events) expect(event.data).toEqual({})
    expect(JSON.stringify(events)).not.toContain(secret)
    expect(JSON.stringify(await world.collection.find({}).toArray())).not.toContain(secret)
  })
})
