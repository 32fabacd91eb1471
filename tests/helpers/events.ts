import { afterAll, expect } from 'bun:test'
import type { Collection, Db } from 'mongodb'
import type { DatabaseHandle } from '../../src/db/calls'
import type { EventsStore } from '../../src/events/events.model'
import { createRelay, type Relay, type RelayOptions } from '../../src/events/events.relay'
import type { ChangeEvent } from '../../src/events/events.schemas'
import type { UsersOutbox } from '../../src/users/users.outbox'
import { captureLogger } from './context'

type World = { database: DatabaseHandle; stores: { outbox: UsersOutbox; events: EventsStore } }

/**
 * A relay on a test app's database, with short intervals, holding its lease when this resolves
 * (unless `hold: false`), stopped by an afterAll: after the file when started at its top level,
 * after the test when started inside one. Tests call `drain()` to move everything pending; with
 * `loop: false` nothing else moves them.
 */
export async function startRelay(
  world: World,
  options: Partial<RelayOptions> & { hold?: boolean; loop?: boolean } = {},
): Promise<Relay & { logger: ReturnType<typeof captureLogger> }> {
  const logger = captureLogger()
  const { hold = true, loop = true, ...rest } = options
  let held: () => void = () => {}
  const acquired = new Promise<void>((resolve) => {
    held = resolve
  })
  const relay = createRelay({
    database: world.database,
    outbox: world.stores.outbox,
    events: world.stores.events,
    logger,
    retentionDays: 30,
    scanEveryMs: { min: 20, max: 200 },
    ...rest,
    lease: { ttlMs: 2000, renewEveryMs: 50, ...rest.lease },
  })
  // Without its loop, only the lease runs: the test moves events with drain() alone.
  if (loop) relay.start()
  else relay.lease.start()
  if (hold) {
    const check = setInterval(() => relay.lease.held() && held(), 5)
    await acquired
    clearInterval(check)
  }
  afterAll(() => relay.stop())
  return Object.assign(relay, { logger })
}

/** Every event in the feed's store (visible or not), in sequence order, straight from the collection. */
export async function allEvents(world: { db: Db }) {
  const docs = (await world.db.collection('events').find({}).sort({ sequence: 1 }).toArray()) as unknown as {
    _id: string
    sequence: number
    type: ChangeEvent['type']
    userId: string
    userVersion: number
    data: ChangeEvent['data']
  }[]
  return docs
}

/** The feed's invariants: sequences exactly 1..n, ids unique, each user's versions exactly 1..its last, visible through n. */
export async function expectWholeFeed(world: { db: Db; collection: Collection }, expected: number) {
  const events = await allEvents(world)
  expect(events.map((event) => event.sequence)).toEqual(Array.from({ length: expected }, (_, index) => index + 1))
  expect(new Set(events.map((event) => event._id)).size).toBe(expected)
  const versions = new Map<string, number[]>()
  for (const event of events) versions.set(event.userId, [...(versions.get(event.userId) ?? []), event.userVersion])
  for (const list of versions.values()) expect(list).toEqual(list.map((_, index) => index + 1))
  const state = await world.db.collection('events_state').findOne({})
  expect(state).toMatchObject({ visibleThrough: expected, lastSequence: expected, batch: null })
  // Every outbox is empty.
  expect(await world.collection.countDocuments({ 'pendingEvents.0': { $exists: true } })).toBe(0)
  return events
}
