/**
 * Fault injection (`bun run reliability:faults`): the database goes away under load, once with
 * SIGTERM and once with SIGKILL, and comes back on the same data directory and port.
 *
 * Asserted: while it is down every request is answered 503 problem+json with Retry-After within
 * the bound (below), none hangs, the service process stays up, /readyz is 503 and /healthz 200;
 * once it is back the service serves writes again and /readyz is 200 within 5 s, without a
 * restart; every write acknowledged before (and after) is present with its version or a later one.
 */
import { createReport, info, quantile, section, startDatabase, startService, tempDir, waitFor } from './lib'
import { createLedger, type Outcome, startLoad, tally, verifyLedger } from './load'

const DB_TIMEOUT_MS = 1000
/**
 * Longest a request may take to get its 503: the service gives each database call at most
 * 2 × DB_TIMEOUT_MS + 1 s (src/db/errors.ts; the driver's own timeouts usually answer after one
 * DB_TIMEOUT_MS), plus 1 s for the HTTP round trip on a loaded 2-core CI machine.
 */
const BOUND_MS = 2 * DB_TIMEOUT_MS + 2000
const OUTAGE_MS = 4000
const RECOVERY_LIMIT_MS = 5000

const report = createReport('faults')
const dir = tempDir('reliability-faults-')
const dataDir = `${dir}/data`

section(`database on ${dataDir}; service with DB_TIMEOUT_MS=${DB_TIMEOUT_MS}`)
let db = await startDatabase(dataDir)
const service = await startService(db.uri, { DB_TIMEOUT_MS: String(DB_TIMEOUT_MS) })
info(`database ${db.uri} (pid ${db.pid}), service ${service.url} (pid ${service.pid})`)

const ledger = createLedger('f')
const load = startLoad({
  target: () => service.url,
  ledger,
  concurrency: 12,
  mix: { create: 3, patch: 3, get: 4, byUsername: 1, list: 1 },
  timeoutMs: 30_000,
})
await Bun.sleep(3000)
info(`warm-up: ${tally(load.outcomes)}`)

/** Periods in which a 503 is a right answer: from stopping the database until the service recovered. */
const outages: { variant: string; from: number; down: number; restarted: number; recovered: number }[] = []
let probeSeq = 0

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  section(`outage with ${signal}`)
  const from = performance.now()
  await db.stop(signal)
  const down = performance.now()
  info(`database stopped with ${signal} in ${Math.round(down - from)} ms; ${load.outcomes.length} answers so far`)
  await Bun.sleep(OUTAGE_MS / 2)
  const ready = await fetch(`${service.url}/readyz`)
  report.check(
    `${signal}: /readyz is 503 problem+json while the database is down`,
    ready.status === 503 && (ready.headers.get('content-type') ?? '').startsWith('application/problem+json'),
    `${ready.status}`,
  )
  const health = await fetch(`${service.url}/healthz`)
  report.check(`${signal}: /healthz is 200 while the database is down`, health.status === 200, `${health.status}`)
  await Bun.sleep(OUTAGE_MS / 2)
  report.check(`${signal}: the service process stayed up`, service.alive())

  db = await startDatabase(dataDir, db.port)
  const restarted = performance.now()
  info(`database restarted on the same port ${db.port} and data directory`)
  // A create of our own every 50 ms until one is acknowledged: the first successful write.
  const [writeMs, readyMs] = await Promise.all([
    waitFor(async () => {
      const username = `fprobe${++probeSeq}`
      ledger.sentCreates.set(username, `${username}@example.com`)
      const res = await fetch(`${service.url}/v1/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, email: `${username}@example.com` }),
      })
      if (res.status !== 201 && probeSeq % 20 === 0) info(`probe ${res.status} ${await res.text()}`)
      return res.status === 201
    }, 15_000),
    waitFor(async () => (await fetch(`${service.url}/readyz`)).status === 200, 15_000),
  ])
  const recovered = performance.now()
  outages.push({ variant: signal, from, down, restarted, recovered })
  report.check(
    `${signal}: first acknowledged write within ${RECOVERY_LIMIT_MS} ms of the restart, no service restart`,
    writeMs !== undefined && writeMs <= RECOVERY_LIMIT_MS,
    `${writeMs === undefined ? 'none in 15 s' : `${Math.round(writeMs)} ms`}`,
  )
  report.check(
    `${signal}: /readyz 200 within ${RECOVERY_LIMIT_MS} ms of the restart`,
    readyMs !== undefined && readyMs <= RECOVERY_LIMIT_MS,
    `${readyMs === undefined ? 'not in 15 s' : `${Math.round(readyMs)} ms`}`,
  )
  report.figure(`${signal} time to first write after restart (ms)`, writeMs ?? -1)
  report.figure(`${signal} time to /readyz 200 after restart (ms)`, readyMs ?? -1)
  await Bun.sleep(2000)
}

await load.stop()
section('answers')
info(tally(load.outcomes))

// A 503 is right from stopping the database until RECOVERY_LIMIT_MS after its restart: requests
// that picked a pooled connection to the old process fail until the driver has cleared its pool.
const inOutage = (o: Outcome) => outages.find((w) => o.endedAt >= w.from && o.startedAt <= w.restarted + RECOVERY_LIMIT_MS)
const unavailable = load.outcomes.filter((o) => o.status === 503)
const latencies = unavailable.map((o) => o.endedAt - o.startedAt)
const noAnswer = load.outcomes.filter((o) => o.status === 0)
const wrong = load.outcomes.filter((o) => o.status !== 0 && !o.expected && o.status !== 503)
const stray503 = unavailable.filter((o) => !inOutage(o))
const badProblems = unavailable.filter((o) => !o.problemJson || o.retryAfter === null)
// Started after the database was down and done before it was back: nothing but a 503 is possible.
const fullyInside = load.outcomes.filter((o) => outages.some((w) => o.startedAt >= w.down && o.endedAt <= w.restarted))

const since = (o: Outcome) => {
  const w = [...outages].reverse().find((x) => o.startedAt >= x.from)
  return w ? `${Math.round(o.startedAt - w.from)} ms after the ${w.variant} stop` : 'before the outages'
}
report.check(
  'every request was answered (none hung, none was refused or reset)',
  noAnswer.length === 0,
  `${noAnswer.length} without answer${
    noAnswer.length
      ? `: ${noAnswer
          .slice(0, 3)
          .map((o) => `${o.op} started ${since(o)}: ${o.error}`)
          .join('; ')}`
      : ''
  }`,
)
report.check(
  'no answer other than the expected status or 503',
  wrong.length === 0,
  wrong
    .slice(0, 3)
    .map((o) => `${o.op} ${o.status} ${o.error}`)
    .join('; '),
)
report.check(
  'requests made during the outages were answered 503',
  unavailable.length > 0 && fullyInside.every((o) => o.status === 503),
  `${fullyInside.length} inside, ${unavailable.length} 503s in all`,
)
report.check(
  `503s only during the outages and up to ${RECOVERY_LIMIT_MS} ms after the restarts`,
  stray503.length === 0,
  `${stray503.length} outside${
    stray503.length
      ? `: ${stray503
          .slice(0, 3)
          .map((o) => `${o.op} ${o.error}`)
          .join('; ')}`
      : ''
  }`,
)
for (const [i, w] of outages.entries()) {
  const next = outages[i + 1]?.from ?? Number.POSITIVE_INFINITY
  // Answered before the next outage began: those in flight when it began are that outage's.
  const last = Math.max(
    0,
    ...unavailable.filter((o) => o.startedAt >= w.restarted && o.endedAt < next).map((o) => o.endedAt - w.restarted),
  )
  report.figure(`${w.variant} last 503 after restart (ms)`, last)
}
report.check('every 503 is problem+json with Retry-After', badProblems.length === 0, `${badProblems.length} without`)
report.check(
  `every 503 came within ${BOUND_MS} ms (the 2 × DB_TIMEOUT_MS + 1 s deadline, plus 1 s)`,
  Math.max(0, ...latencies) <= BOUND_MS,
  `max ${Math.round(Math.max(0, ...latencies))} ms`,
)
const resets = service.warnLines.filter((line) => line.includes('heartbeat'))
report.figure('driver client resets by the heartbeat watchdog', resets.length)
const unhandled = service.errorLines.filter((line) => line.includes('unhandled error'))
report.check('no unhandled errors (500s) in the service log', unhandled.length === 0, unhandled[0]?.slice(0, 1500) ?? '')
report.check('the service process is still the first one', service.alive())

section('read back every acknowledged write')
await verifyLedger(service.url, ledger, report, 'after two outages')

report.figure('answers', load.outcomes.length)
report.figure('503 answers', unavailable.length)
report.figure('503 latency p50 (ms)', quantile(latencies, 0.5))
report.figure('503 latency p99 (ms)', quantile(latencies, 0.99))
report.figure('503 latency max (ms)', Math.max(0, ...latencies))
report.figure('acknowledged creates', ledger.users.size)
report.figure(
  'acknowledged patches',
  [...ledger.users.values()].reduce((sum, u) => sum + u.acked.size - 1, 0),
)

await service.stop()
await db.stop()
report.finish()
