/**
 * The events relay's throughput: `bun run bench:relay [--users 2000] [--events-per-user 1,4]
 * [--background 0]`. Starts an embedded database, stores `users` users with `events-per-user`
 * pending events each (a create, then updates through the one-write PATCH path), then times one
 * relay draining them all into the feed: events per second moved, and the process's and the
 * database's CPU per event. `--background <n>` adds n users with nothing pending first: on
 * FerretDB every write to a user document scans the collection, so the relay slows down as the
 * collection grows (on MongoDB these are index point writes).
 */
import { parseArgs } from 'node:util'
import { ObjectId } from 'mongodb'
import { connectDatabase } from '../../src/db/mongo'
import { createRelay } from '../../src/events/events.relay'
import { createStores } from '../../src/stores'
import { cpuSeconds, machine, quietLogger, startDatabase, table } from './lib'
import { seedUsers } from './seed'

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '2000' },
    'events-per-user': { type: 'string', default: '1,4' },
    background: { type: 'string', default: '0' },
  },
})
const USERS = Number(args.users)
const PER_USER = (args['events-per-user'] ?? '1').split(',').map(Number)
const BACKGROUND = Number(args.background)

console.log(`machine: ${machine()}`)
const db = await startDatabase()
const rows: (string | number)[][] = [
  [
    'users',
    'events each',
    'background users',
    'events',
    'seconds',
    'events/s',
    'CPU µs/event (relay process)',
    'DB CPU µs/event',
  ],
]
try {
  for (const perUser of PER_USER) {
    const database = await connectDatabase(db.uri, `relay_${perUser}_${Date.now()}`)
    const stores = createStores(database, { failureWindowSeconds: 900 })
    await stores.open()
    // Background users as a relayed database holds them: nothing pending (the bench's own seed).
    if (BACKGROUND > 0) await seedUsers(db.uri, [database.db.databaseName], BACKGROUND)
    const ids = await seed(stores, USERS, perUser - 1)
    const relay = createRelay({ database, outbox: stores.outbox, events: stores.events, logger: quietLogger, retentionDays: 30 })
    relay.lease.start()
    while (!relay.lease.held()) await Bun.sleep(10)
    const [cpu0, db0, t0] = [process.cpuUsage(), cpuSeconds(db.pid), performance.now()]
    const moved = await relay.drain()
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const dbCpu = cpuSeconds(db.pid) - db0
    await relay.stop()
    if (moved !== ids.length * perUser) throw new Error(`moved ${moved} events, expected ${ids.length * perUser}`)
    rows.push([
      USERS,
      perUser,
      BACKGROUND,
      moved,
      seconds.toFixed(1),
      Math.round(moved / seconds),
      Math.round((cpu.user + cpu.system) / moved),
      Math.round((dbCpu * 1e6) / moved),
    ])
    stores.close()
    await database.db.dropDatabase()
    await database.close()
  }
} finally {
  await db.stop()
}
console.log(table(rows))

/** `count` users through the import's insert (each with its user.created event), then `updates` one-write PATCHes each. */
async function seed(stores: ReturnType<typeof createStores>, count: number, updates: number): Promise<string[]> {
  const ids: string[] = []
  for (let first = 0; first < count; first += 500) {
    const batch = Array.from({ length: Math.min(500, count - first) }, (_, i) => {
      const id = new ObjectId().toHexString()
      const username = `r${id}`
      ids.push(id)
      return {
        id,
        createdAt: new Date(Date.now() - (count - first - i) * 1000),
        user: {
          username,
          email: `${username}@example.com`,
          metadata: { seq: first + i },
          role: 'user' as const,
          status: 'active' as const,
        },
      }
    })
    await stores.users.insertImported(batch)
  }
  for (let round = 1; round <= updates; round++) {
    for (const id of ids) await stores.users.updateInPlace(id, { displayName: `round ${round}` }, {})
  }
  return ids
}
