import { describe, expect, it } from 'bun:test'
import type { OutboxCopy, UsersOutbox } from '../src/users/users.outbox'
import { eventually } from './helpers/abort'
import { useTestApp } from './helpers/context'
import { allEvents, startRelay } from './helpers/events'

/**
 * The relay plans from the copy of a user that a change's own write left (docs/events.md,
 * "Planning from the write's own copy"), instead of reading the user again, only when no pop of
 * that user can have been applied after the write. Trusting a copy older than a pop would relay
 * its events again under new sequences, whose inserts the events' ids refuse: holes in the feed.
 * Each test watches what the relay reads through an outbox that counts `read` and can replay a
 * copy to the relay late, as a slow answer to a write would bring it.
 */
type World = Awaited<ReturnType<typeof useTestApp>>
type Listener = (userId: string, copy?: OutboxCopy) => void

function watchedOutbox(real: UsersOutbox, options: { failPops?: () => boolean; scansWait?: Promise<void> } = {}) {
  const reads: string[] = []
  let scans = 0
  const listeners: Listener[] = []
  const copies = new Map<string, OutboxCopy>()
  real.onChange((id, copy) => {
    if (copy) copies.set(id, copy)
  })
  const outbox: UsersOutbox = {
    pending: async (limit, skip) => {
      await options.scansWait
      scans++
      return real.pending(limit, skip)
    },
    read: (ids) => {
      reads.push(...ids)
      return real.read(ids)
    },
    pop: async (pops) => {
      const erased = await real.pop(pops)
      // Applied, and then the pass fails: as a pop whose answer never came back.
      if (options.failPops?.()) throw new Error('the pop was applied, its answer lost')
      return erased
    },
    onChange: (listener) => {
      listeners.push(listener)
      return real.onChange(listener)
    },
  }
  /** Tells the relay of `copy` again, late: its events may have been relayed since. */
  const replayCopy = (id: string, copy: OutboxCopy) => {
    for (const listener of listeners) listener(id, copy)
  }
  return { outbox, reads, copies, replayCopy, scans: () => scans }
}

const patch = async (world: World, id: string, displayName: string) => {
  const res = await world.raw(`/v1/users/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify({ displayName }),
  })
  expect(res.status).toBe(200)
}

/** Waits until `count` events are visible, then checks the feed: sequences 1..count, ids unique, each user's versions 1..last. */
async function expectFeed(world: World, count: number) {
  const state = await eventually(
    () => world.db.collection('events_state').findOne({}),
    (doc) => doc?.visibleThrough === count,
  )
  expect(state).toMatchObject({ visibleThrough: count, lastSequence: count, batch: null })
  const events = await allEvents(world)
  expect(events.map((event) => event.sequence)).toEqual(Array.from({ length: count }, (_, index) => index + 1))
  expect(new Set(events.map((event) => event._id)).size).toBe(count)
  const versions = new Map<string, number[]>()
  for (const event of events) versions.set(event.userId, [...(versions.get(event.userId) ?? []), event.userVersion])
  for (const list of versions.values()) expect(list).toEqual(list.map((_, index) => index + 1))
  expect(await world.collection.countDocuments({ 'pendingEvents.0': { $exists: true } })).toBe(0)
}

describe("the relay plans from a write's own copy of the user", () => {
  it('reads none of the users its writes changed once their earlier events are relayed', async () => {
    const world = await useTestApp({ name: 'copies_trusted' })
    const watched = watchedOutbox(world.stores.outbox)
    // A long lease: a new term (after a renewal missed on a busy machine) rightly reads everyone again.
    const relay = await startRelay(
      { ...world, stores: { ...world.stores, outbox: watched.outbox } },
      { lease: { ttlMs: 10_000, renewEveryMs: 500 } },
    )
    const term = relay.lease.token()
    const users = await Promise.all(Array.from({ length: 5 }, () => world.createUser()))
    await expectFeed(world, 5)
    watched.reads.length = 0
    for (const user of users) await patch(world, user.id, 'renamed')
    await expectFeed(world, 10)
    // Each rename was sent after the relay's pop of its user came back: its copy is trusted.
    expect(watched.reads).toEqual([])
    expect(relay.lease.token()).toBe(term)
    const renamed = (await allEvents(world)).filter((event) => event.type === 'user.updated')
    expect(renamed.map((event) => event.data)).toEqual(
      users.map(() => expect.objectContaining({ user: expect.objectContaining({ displayName: 'renamed' }) })),
    )
  })

  it('reads a user whose copy is older than its last pop, and relays nothing twice', async () => {
    const world = await useTestApp({ name: 'copies_stale' })
    const watched = watchedOutbox(world.stores.outbox)
    await startRelay({ ...world, stores: { ...world.stores, outbox: watched.outbox } })
    const user = await world.createUser()
    await patch(world, user.id, 'renamed')
    await expectFeed(world, 2)
    const stale = watched.copies.get(user.id)
    // The rename's copy: both events pending when it was written, both relayed since.
    expect(stale?.version).toBe(2)
    expect(stale?.user()?.pending).toHaveLength(2)
    watched.reads.length = 0
    watched.replayCopy(user.id, stale as OutboxCopy)
    await eventually(
      async () => watched.reads,
      (reads) => reads.includes(user.id),
    )
    expect(watched.reads).toEqual([user.id])
    await patch(world, user.id, 'again')
    await expectFeed(world, 3)
  })

  it('after a pass failed with its pops applied, trusts no copy until a pass finds its batch committed', async () => {
    const world = await useTestApp({ name: 'copies_failed' })
    let failing = false
    const watched = watchedOutbox(world.stores.outbox, { failPops: () => failing })
    const relay = await startRelay({ ...world, stores: { ...world.stores, outbox: watched.outbox } })
    const first = await world.createUser()
    await expectFeed(world, 1)
    failing = true
    const user = await world.createUser()
    // The failed pass popped the new user's event; the next one finishes the batch it recorded.
    await eventually(
      async () => relay.logger.lines.filter((line) => line.message?.includes('a batch failed')).length,
      (failures) => failures > 0,
    )
    failing = false
    await expectFeed(world, 2)
    // The copy from the create was sent before that pop was applied, and this relay never saw the
    // pop come back: only the failure tells it that copies may be stale.
    const stale = watched.copies.get(user.id) as OutboxCopy
    expect(stale.user()?.pending).toHaveLength(1)
    watched.reads.length = 0
    watched.replayCopy(user.id, stale)
    await eventually(
      async () => watched.reads,
      (reads) => reads.includes(user.id),
    )
    await patch(world, first.id, 'renamed')
    await expectFeed(world, 3)
  })

  it('scans once, not at every pass, when a full scan finds only users this process changed', async () => {
    const world = await useTestApp({ name: 'copies_backlog' })
    let release: () => void = () => {}
    const scansWait = new Promise<void>((resolve) => {
      release = resolve
    })
    const watched = watchedOutbox(world.stores.outbox, { scansWait })
    // The term's first scan waits until 30 users are created (and hinted); then it is full (5 of
    // them), and the next scan is a minute away unless a full scan calls for another at once.
    await startRelay(
      { ...world, stores: { ...world.stores, outbox: watched.outbox } },
      { maxUsers: 5, scanEveryMs: { min: 60_000, max: 60_000 }, lease: { ttlMs: 10_000, renewEveryMs: 500 } },
    )
    await Promise.all(Array.from({ length: 30 }, () => world.createUser()))
    release()
    await expectFeed(world, 30)
    expect(watched.scans()).toBe(1)
  })

  it('goes on at once with the hints left when the users of a pass had nothing pending', async () => {
    const world = await useTestApp({ name: 'copies_left' })
    const watched = watchedOutbox(world.stores.outbox)
    await startRelay(
      { ...world, stores: { ...world.stores, outbox: watched.outbox } },
      { maxUsers: 2, scanEveryMs: { min: 60_000, max: 60_000 }, lease: { ttlMs: 10_000, renewEveryMs: 500 } },
    )
    const relayed = await Promise.all(Array.from({ length: 6 }, () => world.createUser()))
    await expectFeed(world, 6)
    // Six hints of users with nothing pending (their copies are stale: read), then one with an event.
    for (const user of relayed) watched.replayCopy(user.id, watched.copies.get(user.id) as OutboxCopy)
    await world.createUser()
    // Three passes find nothing; the fourth relays the new user's event, without waiting for the
    // next scan (a minute away).
    await expectFeed(world, 7)
  })

  it('looks again at once at users whose events a batch did not all take', async () => {
    const world = await useTestApp({ name: 'copies_partial' })
    let release: () => void = () => {}
    const scansWait = new Promise<void>((resolve) => {
      release = resolve
    })
    const watched = watchedOutbox(world.stores.outbox, { scansWait })
    // Batches of at most 10 events from 5 users, scans a minute apart: 10 users with 4 events
    // each are more than a pass takes, and the users it takes hints of must come back by themselves.
    await startRelay(
      { ...world, stores: { ...world.stores, outbox: watched.outbox } },
      { maxUsers: 5, maxEvents: 10, scanEveryMs: { min: 60_000, max: 60_000 }, lease: { ttlMs: 10_000, renewEveryMs: 500 } },
    )
    const users = await Promise.all(Array.from({ length: 10 }, () => world.createUser()))
    for (let round = 1; round <= 3; round++) for (const user of users) await patch(world, user.id, `round ${round}`)
    release()
    await expectFeed(world, 40)
    expect(watched.scans()).toBe(1)
  })
})
