import { describe, expect, it } from 'bun:test'
import type { RelayOptions } from '../src/events/events.relay'
import type { OutboxCopy, UsersOutbox } from '../src/users/users.outbox'
import { eventually } from './helpers/abort'
import { useTestApp } from './helpers/context'
import { allEvents, expectWholeFeed, startRelay } from './helpers/events'

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
  /** Resolves once the relay has read `id` (or after 5 s: the caller's assertions fail then). */
  const untilRead = (id: string) =>
    eventually(
      async () => reads,
      (now) => now.includes(id),
    )
  return { outbox, reads, copies, replayCopy, untilRead, scans: () => scans }
}

/**
 * A relay on `world` through a watched outbox, with a long lease (a new term, after a renewal
 * missed on a busy machine, rightly reads everyone again).
 */
async function relayWatched(
  world: World,
  options: { outbox?: Parameters<typeof watchedOutbox>[1]; relay?: Partial<RelayOptions> } = {},
) {
  const watched = watchedOutbox(world.stores.outbox, options.outbox)
  const relay = await startRelay(
    { ...world, stores: { ...world.stores, outbox: watched.outbox } },
    { ...options.relay, lease: { ttlMs: 10_000, renewEveryMs: 500 } },
  )
  return { watched, relay }
}

/** A promise that holds the relay's scans until `release()`. */
function scanGate() {
  let release: () => void = () => {}
  const scansWait = new Promise<void>((resolve) => {
    release = resolve
  })
  return { scansWait, release }
}

/** Scans a minute apart: only the term's first scan and those a full scan calls for run in a test. */
const RARE_SCANS = { scanEveryMs: { min: 60_000, max: 60_000 } }

const patch = async (world: World, id: string, displayName: string) => {
  const res = await world.raw(`/v1/users/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify({ displayName }),
  })
  expect(res.status).toBe(200)
}

/** Waits until `count` events are visible, then checks the whole feed. */
async function expectFeed(world: World, count: number) {
  await eventually(
    () => world.db.collection('events_state').findOne({}),
    (doc) => doc?.visibleThrough === count,
  )
  await expectWholeFeed(world, count)
}

describe("the relay plans from a write's own copy of the user", () => {
  it('reads none of the users its writes changed once their earlier events are relayed', async () => {
    const world = await useTestApp({ name: 'copies_trusted' })
    const { watched, relay } = await relayWatched(world)
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
    const { watched } = await relayWatched(world)
    const user = await world.createUser()
    await patch(world, user.id, 'renamed')
    await expectFeed(world, 2)
    const stale = watched.copies.get(user.id)
    // The rename's copy: both events pending when it was written, both relayed since.
    expect(stale?.version).toBe(2)
    expect(stale?.user()?.pending).toHaveLength(2)
    watched.reads.length = 0
    watched.replayCopy(user.id, stale as OutboxCopy)
    await watched.untilRead(user.id)
    expect(watched.reads).toEqual([user.id])
    await patch(world, user.id, 'again')
    await expectFeed(world, 3)
  })

  it('after a pass failed with its pops applied, trusts no copy until a pass finds its batch committed', async () => {
    const world = await useTestApp({ name: 'copies_failed' })
    let failing = false
    const { watched, relay } = await relayWatched(world, { outbox: { failPops: () => failing } })
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
    await watched.untilRead(user.id)
    await patch(world, first.id, 'renamed')
    await expectFeed(world, 3)
  })

  it('scans once, not at every pass, when a full scan finds only users this process changed', async () => {
    const world = await useTestApp({ name: 'copies_backlog' })
    const { scansWait, release } = scanGate()
    // The term's first scan waits until 30 users are created (and hinted); then it is full (5 of
    // them), and the next scan is a minute away unless a full scan calls for another at once.
    const { watched } = await relayWatched(world, { outbox: { scansWait }, relay: { maxUsers: 5, ...RARE_SCANS } })
    await Promise.all(Array.from({ length: 30 }, () => world.createUser()))
    release()
    await expectFeed(world, 30)
    expect(watched.scans()).toBe(1)
  })

  it('goes on at once with the hints left when the users of a pass had nothing pending', async () => {
    const world = await useTestApp({ name: 'copies_left' })
    const { watched } = await relayWatched(world, { relay: { maxUsers: 2, ...RARE_SCANS } })
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
    const { scansWait, release } = scanGate()
    // Batches of at most 10 events from 5 users, scans a minute apart: 10 users with 4 events
    // each are more than a pass takes, and the users it takes hints of must come back by themselves.
    const { watched } = await relayWatched(world, {
      outbox: { scansWait },
      relay: { maxUsers: 5, maxEvents: 10, ...RARE_SCANS },
    })
    const users = await Promise.all(Array.from({ length: 10 }, () => world.createUser()))
    for (let round = 1; round <= 3; round++) for (const user of users) await patch(world, user.id, `round ${round}`)
    release()
    await expectFeed(world, 40)
    expect(watched.scans()).toBe(1)
  })
})
