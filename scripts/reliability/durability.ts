/**
 * Durability (`bun run reliability:durability`): `kill -9` during a create/patch load, then a
 * restart, then a read-back of everything against what the client was told.
 *
 * Three rounds kill the service (the database stays up), two kill the database (FerretDB on
 * SQLite, the service stays up and answers 503 meanwhile). After each round: every 201 the client
 * received is a stored user; every 200 to a PATCH is reflected (version at least the acknowledged
 * one, values those of the highest acknowledged version unless a later, unanswered patch landed);
 * no stored user was never sent; an unanswered create may or may not have landed, and is counted.
 */
import {
  createReport,
  type DatabaseProcess,
  info,
  type ServiceProcess,
  section,
  startDatabase,
  startService,
  tempDir,
  waitFor,
} from './lib'
import { createLedger, startLoad, tally, verifyLedger } from './load'

const SERVICE_KILLS = 3
const DATABASE_KILLS = 2
const DB_TIMEOUT_MS = 1000

const report = createReport('durability')
const dataDir = `${tempDir('reliability-durability-')}/data`
let db: DatabaseProcess = await startDatabase(dataDir)
let service: ServiceProcess = await startService(db.uri, { DB_TIMEOUT_MS: String(DB_TIMEOUT_MS) })
info(`database ${db.uri} on ${dataDir}; service ${service.url}`)
const ledger = createLedger('d')
let unanswered = 0
let landedUnanswered = 0
const readyAfterDatabaseKill: number[] = []

/** Runs the load for a random 1-2 s, then `kill`, then stops the load; checks the answers. */
async function loadThenKill(label: string, kill: () => Promise<void>) {
  const load = startLoad({ target: () => service.url, ledger, concurrency: 12, mix: { create: 4, patch: 5, get: 1 } })
  await Bun.sleep(1000 + Math.random() * 1000)
  // No request is sent after the kill, so every unanswered one was in flight at the kill.
  load.halt()
  await kill()
  await load.stop()
  unanswered += load.outcomes.filter((o) => o.status === 0).length
  info(`${label}: ${tally(load.outcomes)}`)
  const wrong = load.outcomes.filter((o) => o.status !== 0 && !o.expected && o.status !== 503)
  report.check(
    `${label}: only expected answers or 503`,
    wrong.length === 0,
    wrong
      .slice(0, 3)
      .map((o) => `${o.op} ${o.status} ${o.error}`)
      .join('; '),
  )
  return load
}

for (let round = 1; round <= SERVICE_KILLS; round++) {
  section(`kill -9 of the service, round ${round} of ${SERVICE_KILLS}`)
  await loadThenKill(`service kill ${round}`, async () => {
    const code = await service.stop('SIGKILL')
    info(`service pid ${service.pid} killed (exit ${code})`)
  })
  service = await startService(db.uri, { DB_TIMEOUT_MS: String(DB_TIMEOUT_MS) })
  info(`service restarted at ${service.url}`)
  ;({ landedUnanswered } = await verifyLedger(service.url, ledger, report, `after service kill ${round}`))
}

for (let round = 1; round <= DATABASE_KILLS; round++) {
  section(`kill -9 of the database, round ${round} of ${DATABASE_KILLS}`)
  await loadThenKill(`database kill ${round}`, async () => {
    await db.stop('SIGKILL')
    info(`database pid ${db.pid} killed; restarting it on the same data directory and port`)
    db = await startDatabase(dataDir, db.port)
    const readyMs = await waitFor(async () => (await fetch(`${service.url}/readyz`)).status === 200, 15_000)
    readyAfterDatabaseKill.push(Math.round(readyMs ?? -1))
    report.check(
      `database kill ${round}: the service is ready again within 5 s`,
      readyMs !== undefined && readyMs <= 5000,
      `${readyMs === undefined ? 'not in 15 s' : `${Math.round(readyMs)} ms`}`,
    )
  })
  report.check(`database kill ${round}: the service process stayed up`, service.alive())
  ;({ landedUnanswered } = await verifyLedger(service.url, ledger, report, `after database kill ${round}`))
}

const unhandled = service.errorLines.filter((line) => line.includes('unhandled error'))
report.check('no unhandled errors (500s) in the last service log', unhandled.length === 0, unhandled[0]?.slice(0, 1500) ?? '')
report.figure('service kills', SERVICE_KILLS)
report.figure('database kills', DATABASE_KILLS)
report.figure('acknowledged creates', ledger.users.size)
report.figure(
  'acknowledged patches',
  [...ledger.users.values()].reduce((sum, u) => sum + u.acked.size - 1, 0),
)
report.figure('creates sent', ledger.sentCreates.size)
report.figure('requests in flight at a kill (unanswered)', unanswered)
report.figure('unanswered creates that landed', landedUnanswered)
report.figure('ready after database restart (ms)', readyAfterDatabaseKill.join(', '))

await service.stop()
await db.stop()
report.finish()
