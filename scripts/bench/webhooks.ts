/**
 * Webhook delivery throughput (`bun run bench:webhooks`): events delivered per second to a local
 * receiver, by the service as it runs (`bun src/index.ts`: the dispatcher and the workers), on its
 * own embedded database.
 *
 *   bun run bench:webhooks [-- --events 1000] [--endpoints 1] [--instances 1] [--receiver-ms 0]
 *
 * Each round publishes `--events` events at once, as the relay publishes them (inserted into
 * `events`, then the watermark moved), and times them until the receiver has every one of them at
 * every endpoint (each signature checked with the reference `standardwebhooks` package). Reports
 * deliveries per second, the time to the first and the last delivery, and the CPU the service and
 * the database spent per delivery. FerretDB (SQLite) scans a collection for every query that is
 * not a point read by `_id`, claims included, so these figures are a floor: MongoDB serves the
 * claims from an index.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { MongoClient } from 'mongodb'
import { Webhook } from 'standardwebhooks'
import { newEventId } from '../../src/events/events.ids'
import { info, startDatabase, startService, tempDir } from '../reliability/lib'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '1' },
    instances: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    'receiver-ms': { type: 'string', default: '0' },
  },
})
const events = Number(values.events)
const endpointCount = Number(values.endpoints)
const rounds = Number(values.rounds)
const receiverMs = Number(values['receiver-ms'])

/** User + system CPU seconds of a process so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const db = await startDatabase(`${tempDir('bench-webhooks-')}/data`)
const env = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', LOG_LEVEL: 'info' }
const services = await Promise.all(Array.from({ length: Number(values.instances) }, () => startService(db.uri, env)))
const mongo = new MongoClient(db.uri)
const database = mongo.db('reliability')

const received = new Set<string>()
let badSignatures = 0
let roundDone: (() => void) | undefined
let expected = 0
let firstAt = 0
const secrets = new Map<string, Webhook>()
const receiver = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(request) {
    const path = new URL(request.url).pathname
    const body = await request.text()
    try {
      secrets.get(path)?.verify(body, Object.fromEntries(request.headers))
    } catch {
      badSignatures++
    }
    if (receiverMs > 0) await Bun.sleep(receiverMs)
    if (received.size === 0) firstAt = performance.now()
    received.add(`${path} ${request.headers.get('webhook-id')}`)
    if (received.size === expected) roundDone?.()
    return new Response(null, { status: 204 })
  },
})

for (let i = 0; i < endpointCount; i++) {
  const path = `/hook-${i}`
  const res = await fetch(`${services[0]!.url}/v1/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:${receiver.port}${path}` }),
  })
  if (res.status !== 201) throw new Error(`create webhook: ${res.status} ${await res.text()}`)
  secrets.set(path, new Webhook(((await res.json()) as { secret: string }).secret))
}

let sequence = 0
const results: { seconds: number; perSecond: number; firstMs: number; serviceCpuMs: number; databaseCpuMs: number }[] = []
for (let round = 1; round <= rounds; round++) {
  received.clear()
  expected = events * endpointCount
  const done = new Promise<void>((resolve) => (roundDone = resolve))
  const now = new Date()
  const documents = Array.from({ length: events }, () => {
    const userId = crypto.randomUUID().replaceAll('-', '').slice(0, 24)
    sequence++
    return {
      _id: newEventId(now),
      sequence,
      type: 'user.updated',
      occurredAt: now,
      userId,
      userVersion: 2,
      data: { user: { id: userId, username: `bench${sequence}`, email: `bench${sequence}@example.com` }, changed: ['email'] },
    }
  })
  await database.collection('events').insertMany(documents as never[])
  const cpuBefore = services.reduce((sum, service) => sum + cpuSeconds(service.pid), 0)
  const dbBefore = cpuSeconds(db.pid)
  const started = performance.now()
  await database
    .collection<{ _id: string }>('events_state')
    .updateOne({ _id: 'relay' }, { $set: { visibleThrough: sequence, lastSequence: sequence } }, { upsert: true })
  await done
  const seconds = (performance.now() - started) / 1000
  const serviceCpu = services.reduce((sum, service) => sum + cpuSeconds(service.pid), 0) - cpuBefore
  const databaseCpu = cpuSeconds(db.pid) - dbBefore
  const result = {
    seconds,
    perSecond: expected / seconds,
    firstMs: firstAt - started,
    serviceCpuMs: (serviceCpu * 1000) / expected,
    databaseCpuMs: (databaseCpu * 1000) / expected,
  }
  results.push(result)
  info(
    `round ${round}: ${expected} deliveries (${events} events × ${endpointCount} endpoints) in ${seconds.toFixed(2)} s: ` +
      `${result.perSecond.toFixed(0)}/s; first after ${result.firstMs.toFixed(0)} ms; CPU per delivery ` +
      `${result.serviceCpuMs.toFixed(2)} ms service, ${result.databaseCpuMs.toFixed(2)} ms database`,
  )
}

const best = results.reduce((a, b) => (b.perSecond > a.perSecond ? b : a))
const collection = await database.collection('webhook_deliveries').countDocuments()
console.log(
  `WEBHOOK-BENCH ${JSON.stringify({
    events,
    endpoints: endpointCount,
    instances: services.length,
    receiverMs,
    deliveriesPerSecond: Math.round(best.perSecond),
    rounds: results.map((r) => Math.round(r.perSecond)),
    serviceCpuMsPerDelivery: Number(best.serviceCpuMs.toFixed(2)),
    databaseCpuMsPerDelivery: Number(best.databaseCpuMs.toFixed(2)),
    deliveriesStored: collection,
    badSignatures,
  })}`,
)
await Promise.all(services.map((service) => service.stop()))
receiver.stop(true)
await mongo.close()
await db.stop()
if (badSignatures > 0) process.exit(1)
