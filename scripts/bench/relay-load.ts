/**
 * The events relay under a write load: `bun run bench:relay-load [--work create|patch]
 * [--seconds 10] [--writers 16] [--rounds 2] [--relay on|off]`. Starts an embedded database, a
 * relay holding its lease, and `writers` concurrent loops of creates (or PATCHes of 2,000 users,
 * created and relayed first) through the users repository, without HTTP, for `seconds`; then waits
 * until the relay has made every event visible. Reports the writes a second, this process's CPU per
 * write during the load and in all (the relay's work after the load included), how far behind the
 * relay was when the load stopped (the seconds until the last event was visible, and its CPU per
 * event then), the database's CPU per write, and the batches that made the events visible. A relay
 * that falls further behind the longer the load runs does not keep pace: compare --seconds 5 with
 * 20. `--relay off` runs the same writes with no relay (their events stay pending): what the relay
 * adds is the difference between the two runs.
 */
import { parseArgs } from 'node:util'
import { connectDatabase } from '../../src/db/mongo'
import { createRelay } from '../../src/events/events.relay'
import { createStores, type Stores } from '../../src/stores'
import { cpuSeconds, machine, quietLogger, startDatabase, table } from './lib'

const { values: args } = parseArgs({
  options: {
    work: { type: 'string', default: 'create' },
    seconds: { type: 'string', default: '10' },
    writers: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
    relay: { type: 'string', default: 'on' },
  },
})
const WORK = args.work === 'patch' ? 'patch' : 'create'
const SECONDS = Number(args.seconds)
const WRITERS = Number(args.writers)
const RELAY = args.relay !== 'off'
const PATCHED_USERS = 2000
const cpuMicros = (since?: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return used.user + used.system
}

console.log(`machine: ${machine()}`)
const db = await startDatabase()
const rows: (string | number)[][] = [
  [
    'round',
    'writes',
    'writes/s',
    'CPU µs/write (load)',
    'CPU µs/write (all)',
    'behind at the end s',
    'CPU µs/event after',
    'DB CPU µs/write',
    'batches',
    'events/batch',
  ],
]
try {
  for (let round = 1; round <= Number(args.rounds); round++) rows.push(await measure(round))
} finally {
  await db.stop()
}
console.log(`${WORK}, ${WRITERS} writers, ${SECONDS} s, relay ${RELAY ? 'on' : 'off'}`)
console.log(table(rows))

async function measure(round: number): Promise<(string | number)[]> {
  const database = await connectDatabase(db.uri, `relay_load_${WORK}_${round}_${Date.now()}`)
  const stores = createStores(database, { failureWindowSeconds: 900 })
  await stores.open()
  // The batches that made events visible (the relay counts each committed batch once).
  const batches = { count: 0 }
  const metrics = {
    countEventsRelayed: () => void batches.count++,
    countRelayInvariantFailure: () => {},
  }
  const relay = createRelay({
    database,
    outbox: stores.outbox,
    events: stores.events,
    logger: quietLogger,
    retentionDays: 30,
    metrics,
  })
  relay.start()
  while (!relay.lease.held()) await Bun.sleep(10)
  const ids = WORK === 'patch' ? await createdAndRelayed(stores, relay.drain) : []
  if (!RELAY) await relay.stop()
  const before = ids.length
  const [cpu0, db0] = [process.cpuUsage(), cpuSeconds(db.pid)]
  batches.count = 0
  const writes = await load(stores, ids)
  const [loadCpu, atEnd, end] = [cpuMicros(cpu0), process.cpuUsage(), performance.now()]
  // With the relay on: how far behind it was at the end of the load, and what catching up cost.
  const behind = RELAY ? before + writes - (await stores.events.state()).visibleThrough : 0
  while (RELAY && (await stores.events.state()).visibleThrough < before + writes) await Bun.sleep(100)
  const after = [(performance.now() - end) / 1000, cpuMicros(atEnd)] as const
  const [allCpu, dbCpu] = [cpuMicros(cpu0), cpuSeconds(db.pid) - db0]
  if (RELAY) await relay.stop()
  stores.close()
  await database.db.dropDatabase()
  await database.close()
  return [
    round,
    writes,
    Math.round(writes / SECONDS),
    Math.round(loadCpu / writes),
    Math.round(allCpu / writes),
    RELAY ? after[0].toFixed(1) : '-',
    behind > 0 ? Math.round(after[1] / behind) : '-',
    Math.round((dbCpu * 1e6) / writes),
    RELAY ? batches.count : '-',
    RELAY ? (writes / Math.max(1, batches.count)).toFixed(1) : '-',
  ]
}

/** PATCH's users: created, and their events relayed, before the measured load. */
async function createdAndRelayed(stores: Stores, drain: () => Promise<number>): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < PATCHED_USERS; i++) {
    const name = `patched${i}`
    const written = await stores.users.create({
      username: name,
      email: `${name}@example.com`,
      metadata: {},
      role: 'user',
      status: 'active',
    })
    if (written.kind === 'written') ids.push(written.user.id)
  }
  while ((await stores.events.state()).visibleThrough < ids.length) await drain().catch(() => Bun.sleep(100))
  await Bun.sleep(1500)
  return ids
}

/** `WRITERS` loops of writes for SECONDS; each write is one change (one event). */
async function load(stores: Stores, ids: string[]): Promise<number> {
  const end = performance.now() + SECONDS * 1000
  let writes = 0
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let i = 0; performance.now() < end; i++) {
        if (WORK === 'patch') {
          const id = ids[(writer * 997 + i * 7) % ids.length] as string
          await stores.users.updateInPlace(id, { displayName: `w${writer}-${i}` }, {})
        } else {
          const name = `w${writer}-${i}-${Date.now().toString(36)}`
          await stores.users.create({
            username: name,
            email: `${name}@example.com`,
            metadata: {},
            role: 'user',
            status: 'active',
          })
        }
        writes++
      }
    }),
  )
  return writes
}
