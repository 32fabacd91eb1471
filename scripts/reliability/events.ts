/**
 * Change events under faults (`bun run reliability:events`), issue 16's checks:
 *
 * 1. `kill -9` of the service during a write load, three times, each followed by a restart: every
 *    acknowledged write has exactly one event in the feed, with its version; per user the events
 *    are exactly versions 1..the stored version (no event for a write that was not applied).
 * 2. Two instances on one database under a write load spread over both; the one holding the relay
 *    lease is killed mid-way, the other takes over: no gap, no duplicate, sequences strictly
 *    increasing, every acknowledged write's event present.
 * 4. Erase during a load that keeps changing the user: afterwards every event of that user holds
 *    ids only, and none of its values is anywhere in the events collection.
 * (3, webhook deliveries, is the webhooks' own script.)
 */
import { MongoClient } from 'mongodb'
import { checkFeed, createEventLedger, readFeed, relayState, startWriteLoad, waitForRelay } from './events.lib'
import { createReport, info, type ServiceProcess, section, startDatabase, startService, tempDir, waitFor } from './lib'

const KILLS = 3
const RELAY_TIMEOUT_MS = 60_000
const DB_NAME = 'reliability'

const report = createReport('events')
const dataDir = `${tempDir('reliability-events-')}/data`
const db = await startDatabase(dataDir)
const mongo = new MongoClient(db.uri)
info(`database ${db.uri} on ${dataDir}`)

// ---- 1. kill -9 of the service during a write load
section(`1. kill -9 of the service during a write load (${KILLS} rounds)`)
const ledger = createEventLedger('k')
let service: ServiceProcess = await startService(db.uri)
for (let round = 1; round <= KILLS; round++) {
  const load = startWriteLoad(ledger, () => [service.url], 12)
  await Bun.sleep(1500 + Math.random() * 1000)
  load.halt()
  await service.stop('SIGKILL')
  await load.stop()
  info(
    `round ${round}: killed pid ${service.pid}; ${ledger.writesAcked} writes acknowledged so far, ${ledger.unanswered} unanswered`,
  )
  service = await startService(db.uri)
}
report.check('1: the relay caught up after the last restart', await waitForRelay(db.uri, DB_NAME, RELAY_TIMEOUT_MS))
const killed = await checkFeed(service.url, ledger, report, '1 (kill -9)')
report.figure('1: writes acknowledged', ledger.writesAcked)
report.figure('1: writes unanswered at a kill', ledger.unanswered)
report.figure('1: applied but unacknowledged writes (with their events)', killed.appliedUnacknowledged + killed.landedCreates)
report.figure('1: events found', killed.events)
report.figure('1: duplicates', killed.duplicates)
report.figure('1: gaps', killed.gaps)
report.figure('1: acknowledged writes without their event', killed.missing)
await service.stop()

// ---- 2. two instances, the lease holder killed mid-way
section('2. two instances on one database, the relay lease holder killed mid-way')
await mongo.db(DB_NAME).dropDatabase()
const shared = createEventLedger('t')
const instances = [await startService(db.uri), await startService(db.uri)]
let live = [...instances]
const load = startWriteLoad(shared, () => live.map((instance) => instance.url), 12)
await Bun.sleep(2000)
const holderPid = await leaseHolderPid(instances)
const holder = instances.find((instance) => instance.pid === holderPid) ?? instances[0]
const survivor = instances.find((instance) => instance !== holder) as ServiceProcess
live = [survivor]
await holder?.stop('SIGKILL')
info(`killed the lease holder (pid ${holder?.pid}); the load goes on against pid ${survivor.pid}`)
report.check('2: the lease holder was found and killed', holderPid !== undefined && holder?.pid === holderPid)
// The lease runs out 10 s after its last renewal at most; the survivor tries every 3 s, under load.
const tookOver = await waitFor(async () => (await leaseHolderPid([survivor])) === survivor.pid, 30_000)
report.check('2: the survivor took the lease over', tookOver !== undefined, `after ${((tookOver ?? 0) / 1000).toFixed(1)} s`)
report.figure('2: seconds from the kill to the takeover', Number(((tookOver ?? Number.NaN) / 1000).toFixed(1)))
// The load goes on against the survivor a while after the takeover.
await Bun.sleep(2_000)
await load.stop()
report.check('2: the relay caught up', await waitForRelay(db.uri, DB_NAME, RELAY_TIMEOUT_MS))
const twoInstances = await checkFeed(survivor.url, shared, report, '2 (two instances)')
report.figure('2: writes acknowledged', shared.writesAcked)
report.figure('2: events found', twoInstances.events)
report.figure('2: duplicates', twoInstances.duplicates)
report.figure('2: gaps', twoInstances.gaps)
report.figure('2: acknowledged writes without their event', twoInstances.missing)

// ---- 4. erase under load
section('4. erase during a load that keeps changing the user')
const secret = `secret${crypto.randomUUID().slice(0, 8)}`
const createBody = JSON.stringify({
  username: secret,
  email: `${secret}@example.com`,
  displayName: secret,
  metadata: { note: secret },
})
const created = await fetch(`${survivor.url}/v1/users`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: createBody,
})
const target = (await created.json()) as { id: string }
// The user keeps changing (a rename every 25 ms) while other writes go on, until it is erased.
let renames = 0
const others = startWriteLoad(createEventLedger('e'), () => [survivor.url], 6)
const renaming = (async () => {
  for (let n = 0; n < 400; n++) {
    const res = await fetch(`${survivor.url}/v1/users/${target.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ displayName: `${secret}-${n}` }),
    })
    await res.arrayBuffer()
    if (res.status !== 200) return
    renames++
    await Bun.sleep(25)
  }
})()
await Bun.sleep(1000)
const erased = await fetch(`${survivor.url}/v1/users/${target.id}/erase`, { method: 'POST' })
// What a consumer reads the moment the erase answered, while the other writes still flow: up to
// what was visible then (the feed grows as fast as it is read while the load goes on).
const state = await relayState(mongo, DB_NAME)
const feedAtAnswer = await readFeed(survivor.url, Number(state?.visibleThrough ?? 0))
await renaming
await others.stop()
report.check('4: the erase answered 204', erased.status === 204, String(erased.status))
report.check('4: the relay caught up', await waitForRelay(db.uri, DB_NAME, RELAY_TIMEOUT_MS))
const ofUser = await mongo.db(DB_NAME).collection('events').find({ userId: target.id }).sort({ sequence: 1 }).toArray()
const withValues = ofUser.filter((event) => Object.keys(event.data ?? {}).length > 0)
report.check(
  '4: every event of the erased user holds ids only',
  withValues.length === 0,
  `${withValues.length} of ${ofUser.length}`,
)
report.check(
  '4: its events run from user.created to user.erased, versions 1..n',
  ofUser[0]?.type === 'user.created' &&
    ofUser.at(-1)?.type === 'user.erased' &&
    ofUser.every((event, index) => event.userVersion === index + 1),
)
const visibleThen = feedAtAnswer.filter((event) => event.userId === target.id)
report.check(
  '4: none of its values in the feed read as the erase answered',
  !JSON.stringify(feedAtAnswer).includes(secret),
  `${visibleThen.length} of its events visible then`,
)
const everything = JSON.stringify(await mongo.db(DB_NAME).collection('events').find({}).toArray())
report.check('4: none of its values anywhere in the events collection', !everything.includes(secret))
report.figure('4: changes to the user before the erase', renames)
report.figure('4: events of the erased user (ids only)', ofUser.length)
report.figure('4: of them visible in the feed as the erase answered', visibleThen.length)

await survivor.stop()
await mongo.close()
await db.stop()
report.finish()

/** The pid of the instance holding the relay lease (its owner is `<host>:<pid>:<random>`), if one of these does. */
async function leaseHolderPid(candidates: ServiceProcess[]): Promise<number | undefined> {
  const state = await mongo
    .db(DB_NAME)
    .collection('events_state')
    .findOne({ _id: 'relay' as never })
  const pid = Number(String(state?.owner ?? '').split(':')[1])
  return candidates.some((candidate) => candidate.pid === pid) ? pid : undefined
}
