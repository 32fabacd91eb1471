import { afterAll, describe, expect, it } from 'bun:test'
import { type CommandStartedEvent, MongoClient } from 'mongodb'
import { attachDatabase } from '../src/db/calls'
import { createEventsFeed } from '../src/events/events.feed'
import { createRelay } from '../src/events/events.relay'
import { createEventsRepository } from '../src/events/events.repository'
import { createUsersOutbox } from '../src/users/users.outbox.repository'
import { createDispatcherCursor, createEventSource } from '../src/webhooks/webhooks.events.repository'
import { captureLogger, useTestApp } from './helpers/context'

/**
 * The change events' readers read only what a majority has written (src/db/calls.ts,
 * COMMITTED_READS): on a replica set, a read at the default `local` level can see a change a
 * failover then rolls back, and the relay would publish its event, the feed show it. FerretDB
 * ignores read concerns, so this checks what is sent: the relay, the feed and the webhooks' event
 * source run on a client with command monitoring, and every read they send must say `majority`.
 */
const world = await useTestApp({ name: 'read_concern' })
const client = new MongoClient(globalThis.testMongoUri, { monitorCommands: true })
await client.connect()
const handle = attachDatabase(client.db(world.db.databaseName))
const events = createEventsRepository(handle)
const relay = createRelay({
  database: handle,
  outbox: createUsersOutbox(handle),
  events,
  logger: captureLogger(),
  retentionDays: 30,
  lease: { ttlMs: 2000, renewEveryMs: 50 },
})
const sent: CommandStartedEvent[] = []
client.on('commandStarted', (event) => sent.push(event))

afterAll(async () => {
  await relay.lease.stop()
  await client.close()
})

const READS = new Set(['find', 'aggregate', 'count', 'distinct'])
/** The reads sent since `from`, with the collection each read and its read concern. */
const readsSince = (from: number) =>
  sent
    .slice(from)
    .flatMap(({ commandName, command }) =>
      READS.has(commandName)
        ? [{ collection: String(command[commandName]), level: (command.readConcern as { level?: string } | undefined)?.level }]
        : [],
    )

describe('the change events read what a majority wrote', () => {
  it('sends every read of the relay, the feed and the webhooks with readConcern majority', async () => {
    const user = await world.createUser()
    relay.lease.start()
    while (!relay.lease.held()) await Bun.sleep(5)
    const from = sent.length

    expect(await relay.drain()).toBe(1)
    const outcome = await createEventsFeed(events).list({ limit: 10, waitSeconds: 0, userId: user.id })
    expect(outcome).toMatchObject({ kind: 'page', page: { items: [{ type: 'user.created', userId: user.id }] } })
    const source = createEventSource(handle)
    const [header] = await source.headers(0, await source.visibleThrough(), 10)
    expect((await source.byId(header?.id ?? ''))?.userId).toBe(user.id)
    await createDispatcherCursor(handle).read()

    const reads = readsSince(from)
    // The outbox scan (users), the relay's state and the feed's page, the webhooks' reads.
    expect(new Set(reads.map((read) => read.collection))).toEqual(new Set(['users', 'events_state', 'events']))
    expect(reads.filter((read) => read.level !== 'majority')).toEqual([])
  })
})
