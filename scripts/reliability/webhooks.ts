/**
 * Webhooks under faults (`bun run reliability:webhooks`), issue 16's check (3): two service
 * instances on one database deliver to a receiver that fails the first attempts of some events
 * (500, 503, 429 with Retry-After) and holds others past WEBHOOK_TIMEOUT_MS (it has the event, the
 * service times out and sends it again). Asserted: every event is delivered, every request verifies
 * with the `standardwebhooks` package and with the client's verifyWebhook, each webhook-id arrives
 * at least once and, deduplicated by id, is processed exactly once. Then two dead endpoints join (one
 * refuses connections, one never answers): the first endpoint's deliveries are not delayed by them.
 *
 * The events come from real user writes (POST and PATCH /v1/users on both instances), so the whole
 * path is under test: the outbox, the relay, the feed, the dispatcher and the workers. A latency
 * counts from the write's answer to the receiver's processing.
 */
import { MongoClient } from 'mongodb'
import { Webhook } from 'standardwebhooks'
import { verifyWebhook } from '../../src/events/events.verify'
import { createReport, info, quantile, section, startDatabase, startService, tempDir, waitFor } from './lib'

const TIMEOUT_MS = 800
const SCHEDULE = '0,100ms,200ms,400ms,800ms,1s,1s,1s,1s,1s'
const EVENTS_PER_PHASE = 48
const BATCHES = 12
/**
 * 13 events a second: a rate the embedded database sustains with the dead endpoints' backlog in
 * the queue (FerretDB scans the queue for every claim; MongoDB reads only due entries from its
 * index), so latency measures what the workers do, not the database's queueing.
 */
const BATCH_EVERY_MS = 300
/** The workers' default in-flight limit per endpoint and instance (webhooks.workers.ts). */
const PER_ENDPOINT = 4

const report = createReport('webhooks')
const db = await startDatabase(`${tempDir('reliability-webhooks-')}/data`)
const env = {
  WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  WEBHOOK_RETRY_SCHEDULE: SCHEDULE,
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
}
const instances = [await startService(db.uri, env), await startService(db.uri, env)]
const mongo = new MongoClient(db.uri)
const database = mongo.db('reliability')
info(`two instances (${instances.map((s) => s.pid).join(', ')}) on ${db.uri}; schedule ${SCHEDULE}, timeout ${TIMEOUT_MS} ms`)

// --- The receiver -------------------------------------------------------------------------------

/** What the good endpoint does with attempt n of the event of sequence s: a fixed plan per event. */
function plan(sequence: number, attempt: number): 'ok' | 'hang' | 500 | 503 | 429 {
  const kind = sequence % 10
  if (kind === 0 && attempt === 1) return 'hang' // it gets the event, but answers after the timeout
  if (kind === 1 && attempt <= 1) return 500
  if (kind === 2 && attempt <= 2) return 503
  if (kind === 3 && attempt <= 3) return attempt === 1 ? 429 : 500
  if (kind === 4 && attempt <= 1) return 'hang'
  return 'ok'
}

type Receipt = { id: string; at: number; body: string; headers: Record<string, string>; processed: boolean; late: boolean }
const receipts: Receipt[] = []
const attemptsById = new Map<string, number>()
/** The receiver's own store: event ids it has processed (what a consumer deduplicates on). */
const processed = new Map<string, number>()
let duplicatesIgnored = 0
let openAtHang = 0
let maxOpenAtHang = 0
const hangReleases: (() => void)[] = []

const receiver = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  idleTimeout: 0,
  async fetch(request) {
    const path = new URL(request.url).pathname
    const body = await request.text()
    const headers = Object.fromEntries(request.headers)
    if (path === '/dead-hang') {
      // Open until the service gives up on it (its timeout closes the connection) or the run ends.
      openAtHang++
      maxOpenAtHang = Math.max(maxOpenAtHang, openAtHang)
      const closedByClient = new Promise<void>((done) => request.signal.addEventListener('abort', () => done(), { once: true }))
      await Promise.race([closedByClient, new Promise<void>((done) => hangReleases.push(done))])
      openAtHang--
      return new Response(null, { status: 204 })
    }
    const id = headers['webhook-id'] ?? ''
    const attempt = (attemptsById.get(id) ?? 0) + 1
    attemptsById.set(id, attempt)
    const sequence = Number((JSON.parse(body) as { sequence?: number }).sequence)
    const action = plan(sequence, attempt)
    const receipt: Receipt = {
      id,
      at: performance.now(),
      body,
      headers,
      processed: action === 'ok' || action === 'hang',
      late: action === 'hang',
    }
    receipts.push(receipt)
    if (receipt.processed) {
      // Deduplicate by webhook-id: a second copy of an event already processed changes nothing.
      if (processed.has(id)) duplicatesIgnored++
      else processed.set(id, receipt.at)
    }
    if (action === 'hang') {
      await Bun.sleep(TIMEOUT_MS + 400)
      return new Response('late')
    }
    if (action === 'ok') return new Response(null, { status: 204 })
    return new Response('not now', { status: action, headers: action === 429 ? { 'retry-after': '1' } : {} })
  },
})
const base = `http://127.0.0.1:${receiver.port}`
// A port nothing listens on: every connection is refused.
const closed = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
const refusedUrl = `http://127.0.0.1:${closed.port}/dead-refused`
closed.stop(true)

// --- Events, from real user writes -------------------------------------------------------------

/** Every event the writes produced, by id: its sequence, when its write was answered, the feed's copy. */
const published = new Map<string, { sequence: number; at: number; event: Record<string, unknown> }>()
let writes = 0
let feedCursor: string | undefined

/**
 * Makes `count` changes through /v1 (creates, and every third a PATCH of the user just created),
 * spread over both instances, so the events take the whole path: the outbox in the write, the
 * relay, the feed's watermark, the dispatcher, the workers. Each event is then read back from
 * the feed, and its latency counts from its write's answer.
 */
async function publish(count: number): Promise<void> {
  const answeredAt = new Map<string, number>()
  let made = 0
  while (made < count) {
    const instance = instances[writes++ % instances.length]!
    const created = await fetch(`${instance.url}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `wh${writes}x${crypto.randomUUID().slice(0, 8)}`, email: `wh${writes}@example.com` }),
    })
    if (created.status !== 201) throw new Error(`create user: ${created.status} ${await created.text()}`)
    const user = (await created.json()) as { id: string }
    answeredAt.set(`${user.id}:1`, performance.now())
    made++
    if (made < count && writes % 3 === 0) {
      const patched = await fetch(`${instance.url}/v1/users/${user.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ displayName: `Webhook ${writes}` }),
      })
      if (patched.status !== 200) throw new Error(`patch user: ${patched.status} ${await patched.text()}`)
      answeredAt.set(`${user.id}:2`, performance.now())
      made++
    }
  }
  // The same events as the feed shows them (the relay publishes them within milliseconds).
  let found = 0
  for (let round = 0; found < count && round < 60; round++) {
    const query = new URLSearchParams({ waitSeconds: '1', limit: '500', ...(feedCursor ? { after: feedCursor } : {}) })
    const res = await fetch(`${instances[0]!.url}/v1/events?${query}`)
    if (res.status !== 200) throw new Error(`feed: ${res.status} ${await res.text()}`)
    const page = (await res.json()) as { items: Record<string, unknown>[]; nextCursor: string }
    for (const event of page.items) {
      const at = answeredAt.get(`${event.userId}:${event.userVersion}`)
      if (at === undefined) throw new Error(`an event no write of this run made: ${JSON.stringify(event)}`)
      published.set(event.id as string, { sequence: event.sequence as number, at, event })
      found++
    }
    feedCursor = page.nextCursor
  }
  if (found !== count) throw new Error(`${count} writes, ${found} events in the feed`)
}

async function createEndpoint(url: string): Promise<{ id: string; secret: string }> {
  const res = await fetch(`${instances[0]!.url}/v1/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url }),
  })
  if (res.status !== 201) throw new Error(`create webhook: ${res.status} ${await res.text()}`)
  return res.json() as Promise<{ id: string; secret: string }>
}

/** Publishes a phase's events in batches, waits until the good endpoint processed all; latencies in ms. */
async function phase(label: string): Promise<number[]> {
  const before = new Set(published.keys())
  for (let batch = 0; batch < BATCHES; batch++) {
    await publish(EVENTS_PER_PHASE / BATCHES)
    await Bun.sleep(BATCH_EVERY_MS)
  }
  const ids = [...published.keys()].filter((id) => !before.has(id))
  const waited = await waitFor(async () => ids.every((id) => processed.has(id)), 60_000)
  report.check(
    `${label}: every event processed by the good endpoint`,
    waited !== undefined,
    `${ids.filter((id) => processed.has(id)).length}/${ids.length}`,
  )
  const latencies = ids.flatMap((id) => {
    const at = processed.get(id)
    const event = published.get(id)
    return at !== undefined && event ? [at - event.at] : []
  })
  info(
    `${label}: p50 ${quantile(latencies, 0.5).toFixed(0)} ms, p95 ${quantile(latencies, 0.95).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms`,
  )
  return latencies
}

// --- The run ------------------------------------------------------------------------------------

section('phase 1: one endpoint, failing and slow on some events')
const good = await createEndpoint(`${base}/good`)
const alone = await phase('alone')

section('phase 2: two dead endpoints join (connection refused, never answers)')
const refused = await createEndpoint(refusedUrl)
const hanging = await createEndpoint(`${base}/dead-hang`)
const withDead = await phase('with dead endpoints')

section('results')
await waitFor(
  async () =>
    (await database.collection('webhook_deliveries').countDocuments({ webhookId: good.id, status: 'succeeded' })) ===
    published.size,
  10_000,
)
const succeeded = await database.collection('webhook_deliveries').countDocuments({ webhookId: good.id, status: 'succeeded' })
report.check('every delivery to the good endpoint succeeded', succeeded === published.size, `${succeeded}/${published.size}`)
const goodDeliveries = await database.collection('webhook_deliveries').find({ webhookId: good.id }).toArray()
report.check('one delivery per event and endpoint', goodDeliveries.length === published.size, `${goodDeliveries.length}`)

let badSignatures = 0
let wrongBodies = 0
for (const receipt of receipts) {
  try {
    new Webhook(good.secret).verify(receipt.body, receipt.headers)
    const event = await verifyWebhook(good.secret, receipt.headers, receipt.body)
    // The feed's copy of the event, field for field.
    if (!Bun.deepEquals(event, published.get(receipt.id)?.event, true)) wrongBodies++
  } catch {
    badSignatures++
  }
}
report.check(
  'every request verifies with standardwebhooks and verifyWebhook',
  badSignatures === 0,
  `${badSignatures} refused of ${receipts.length}`,
)
report.check('every body is the event as the feed shows it', wrongBodies === 0, `${wrongBodies} differ`)
const unknown = receipts.filter((receipt) => !published.has(receipt.id)).length
report.check('every webhook-id is a published event id', unknown === 0, `${unknown} unknown`)
const atLeastOnce = [...published.keys()].filter((id) => (attemptsById.get(id) ?? 0) >= 1).length
report.check('each webhook-id arrived at least once', atLeastOnce === published.size, `${atLeastOnce}/${published.size}`)
const processedReceipts = receipts.filter((receipt) => receipt.processed).length
report.check(
  'deduplicated by id, each event processed exactly once',
  processed.size === published.size && processedReceipts === processed.size + duplicatesIgnored,
  `${processed.size} processed, ${duplicatesIgnored} duplicates ignored`,
)
const shortOfPlan = [...published].filter(([id, { sequence }]) => {
  let needed = 1
  while (plan(sequence, needed) !== 'ok') needed++
  return (attemptsById.get(id) ?? 0) < needed
}).length
report.check('every planned failure was retried until the planned success', shortOfPlan === 0, `${shortOfPlan} short`)

const deadStatuses = await database
  .collection('webhook_deliveries')
  .aggregate([{ $match: { webhookId: { $in: [refused.id, hanging.id] } } }, { $group: { _id: '$status', n: { $sum: 1 } } }])
  .toArray()
const deadSucceeded = deadStatuses.find((s) => s._id === 'succeeded')?.n ?? 0
report.check('no delivery to a dead endpoint succeeded', deadSucceeded === 0, JSON.stringify(deadStatuses))
report.check(
  `the endpoint that never answers held at most ${PER_ENDPOINT} attempts per instance at once`,
  maxOpenAtHang <= PER_ENDPOINT * instances.length,
  `${maxOpenAtHang} at most`,
)
const [p50Alone, p95Alone] = [quantile(alone, 0.5), quantile(alone, 0.95)]
const [p50WithDead, p95WithDead] = [quantile(withDead, 0.5), quantile(withDead, 0.95)]
// Room for a shared 2-core machine's noise (seen: within 20 %), not for interference: without the
// per-endpoint limit and the circuit breaker, the dead endpoints' 800 ms timeouts and retries took
// the good endpoint's workers and p50 went from 180 to 900 ms, p95 from 2.2 to 5.1 s.
report.check(
  "the dead endpoints did not delay the good endpoint's deliveries",
  p50WithDead <= 2 * p50Alone + 250 && p95WithDead <= 1.5 * p95Alone + 500,
  `p50/p95 ${p50Alone.toFixed(0)}/${p95Alone.toFixed(0)} ms alone, ${p50WithDead.toFixed(0)}/${p95WithDead.toFixed(0)} ms with them`,
)
const errors = instances.flatMap((instance) => instance.errorLines)
report.check('no error logged by either instance', errors.length === 0, errors[0]?.slice(0, 500) ?? '')
report.check(
  'both instances are up',
  instances.every((instance) => instance.alive()),
)

const deadAttempts = await database
  .collection('webhook_deliveries')
  .aggregate([{ $match: { webhookId: { $in: [refused.id, hanging.id] } } }, { $group: { _id: null, n: { $sum: '$attempts' } } }])
  .toArray()
report.figure('events', published.size)
report.figure('requests to the good endpoint', receipts.length)
report.figure('retries (requests beyond the first per event)', receipts.length - published.size)
report.figure('timeouts (the receiver answered late)', receipts.filter((receipt) => receipt.late).length)
report.figure('duplicates received and ignored by id', duplicatesIgnored)
report.figure('attempts at the dead endpoints', Number(deadAttempts[0]?.n ?? 0))
report.figure('good endpoint p50/p95 ms alone', `${p50Alone.toFixed(0)}/${p95Alone.toFixed(0)}`)
report.figure('good endpoint p50/p95 ms with dead endpoints', `${p50WithDead.toFixed(0)}/${p95WithDead.toFixed(0)}`)

for (const release of hangReleases) release()
await Promise.all(instances.map((instance) => instance.stop()))
receiver.stop(true)
await mongo.close()
report.finish()
