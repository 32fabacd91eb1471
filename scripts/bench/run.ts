/**
 * The benchmark: `bun run bench [--quick] [--only w1,w2] [--contenders c1,c2] [--rounds n]
 * [--seconds s] [--idle-seconds s] [--before <git revision>] [--update-docs] [--profile <folder>]`. Starts one embedded
 * database server with a database per DB contender (`bench_<id>`), seeds the same 10,000 users into
 * each, starts every contender once on its own database, measures each one's idle CPU (all idle at
 * once), then per workload warms each up and runs them in alternating wrk rounds (A B C … then …
 * C B A), reading each process tree's CPU and peak RSS from /proc and the database's CPU too. Only
 * one contender is under load at a time, so the database's CPU in a run is (nearly all) its. Own
 * databases keep the write workloads fair: the service's events relay holds the lease of its own
 * database only, so it relays its own events and no one else's. Prints a table and the issue's
 * targets; writes JSON and an SVG chart to bench-results/, and with --update-docs the chart and
 * table into docs/. `--profile <folder>` runs each Bun contender with `--cpu-prof-md` (its
 * startup runs too): one Markdown profile per process in the folder, written when it stops.
 */
import { createHash, randomBytes } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CONTENDER_IDS, CONTENDERS, type ContenderId, DEFAULT_CONTENDER_IDS, databaseName } from './contenders'
import {
  type Contender,
  idleCpuMsPerSecond,
  machine,
  median,
  root,
  settle,
  startContender,
  startDatabase,
  table,
  timeToFirstHealthy,
  treePeakRssMb,
} from './lib'
import { benchUsers } from './memory-users'
import {
  DOCS_END,
  DOCS_START,
  docsSection,
  type Idle,
  idleLines,
  type Runs,
  type Startup,
  summarize,
  tableRows,
  targets,
} from './report'
import { chart } from './report.chart'
import { seedUsers } from './seed'
import { WORKLOAD_IDS, WORKLOADS, type WorkloadContext, type WorkloadId } from './workloads'
import { type LoadResult, requireWrk, runWrk } from './wrk'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    contenders: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'startup-runs': { type: 'string' },
    'idle-seconds': { type: 'string' },
    'update-docs': { type: 'boolean', default: false },
    before: { type: 'string' },
    profile: { type: 'string' },
  },
})
const quick = args.quick ?? false
const rounds = Number(args.rounds ?? (quick ? 3 : 5))
const seconds = Number(args.seconds ?? (quick ? 2 : 6))
const warmSeconds = quick ? 1 : 3
const startupRuns = Number(args['startup-runs'] ?? (quick ? 3 : 7))
// Every contender's CPU while idle, all at once, before any load; 0 skips it.
const idleSeconds = Number(args['idle-seconds'] ?? 10)
if (!Number.isFinite(idleSeconds) || idleSeconds < 0) {
  console.error(`--idle-seconds takes a number of seconds ≥ 0 (0 skips the idle measurement), not ${args['idle-seconds']}`)
  process.exit(2)
}
// Quick mode: the headline workload (every target can be judged from it); full mode: all of them.
const workloads = pick(args.only, WORKLOAD_IDS, quick ? ['get-by-id'] : WORKLOAD_IDS)
// --before <revision>: the service as it was then runs beside it, for before/after figures.
if (args.before) process.env.BENCH_BEFORE_REV = args.before
const contenderIds = pick(args.contenders, CONTENDER_IDS, args.before ? CONTENDER_IDS : DEFAULT_CONTENDER_IDS)
const USERS = 10_000
/** The longest wait, after a round, for the work it left behind (its CPU counts); then the next round starts anyway. */
const SETTLE_AFTER_SECONDS = 300
/** The contenders with a database, each on its own: `bench_floor`, `bench_service`, … */
const dbContenderIds = contenderIds.filter((id) => CONTENDERS[id].group === 'db')

function pick<T extends string>(list: string | undefined, known: readonly T[], fallback: readonly T[]): T[] {
  if (!list) return [...fallback]
  const chosen = list.split(',').map((s) => s.trim())
  const unknown = chosen.filter((s) => !known.includes(s as T))
  if (unknown.length) {
    console.error(`unknown: ${unknown.join(', ')} (choose from ${known.join(', ')})`)
    process.exit(2)
  }
  // Keep the canonical order: POST create runs last, so the list workloads see exactly 10,000 users.
  return known.filter((k) => chosen.includes(k))
}

/** A Bun contender's command with the CPU profiler on, when --profile names a folder. */
function profiled(command: string[]): string[] {
  if (!args.profile || command[0] !== 'bun') return command
  const folder = join(process.cwd(), args.profile)
  mkdirSync(folder, { recursive: true })
  return ['bun', '--cpu-prof-md', `--cpu-prof-dir=${folder}`, ...command.slice(1)]
}

const progress = (message: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`)

requireWrk()
console.log(`machine: ${machine()}`)
console.log(
  `${quick ? 'quick' : 'full'} mode: workloads ${workloads.join(', ')}; contenders ${contenderIds.join(', ')}; ` +
    `${rounds} alternating rounds of ${seconds} s after a ${warmSeconds} s warm-up each`,
)

const commands = new Map<ContenderId, string[]>()
for (const id of contenderIds) {
  progress(`preparing ${CONTENDERS[id].label}`)
  commands.set(id, profiled(await CONTENDERS[id].prepare()))
}

const db = await startDatabase()
const running: { id: ContenderId; process: Contender }[] = []
const all: Runs[] = []
const startup: Startup = {}
let idle: Idle | undefined
const stopAll = async () => {
  for (const contender of running.splice(0)) await contender.process.stop()
  await db.stop()
}
// Ctrl-C must not leave servers running (the database also dies with this process on its own).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping the contenders and the database`)
    stopAll().finally(() => process.exit(130))
  })
}
try {
  const dbNames = dbContenderIds.map(databaseName)
  progress(
    `database up at ${db.uri} (pid ${db.pid}); seeding ${USERS.toLocaleString('en-US')} users into each of ${dbNames.join(', ') || '(none)'}`,
  )
  const seeded = dbNames.length ? await seedUsers(db.uri, dbNames, USERS) : { ids: [], usernames: [], createdAt: [] }

  const apiKey = `usk_${randomBytes(32).toString('base64url')}`
  const sha256 = createHash('sha256').update(apiKey).digest('hex')
  const env = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    MONGODB_URI: db.uri,
    LOG_LEVEL: 'info',
    // Production refuses public /metrics without this opt-in (issue 13); the run scrapes nothing sensitive.
    METRICS_PUBLIC: 'true',
    AUTH_API_KEYS: JSON.stringify([{ name: 'bench', sha256, scopes: ['users:read', 'users:write'] }]),
  }
  const headers = { Authorization: `Bearer ${apiKey}` }
  // Each DB contender on its own database (the no-DB pair ignores it).
  const envOf = (id: ContenderId) => ({ ...env, ...CONTENDERS[id].env, MONGODB_DB: databaseName(id) })

  // Alternating, like the load rounds: a busy spell of the machine falls on each of them alike.
  const starting = (['service', 'service-before', 'service-node'] as const).filter((id) => commands.has(id))
  for (let i = 0; i < startupRuns; i++) {
    for (const id of starting) {
      const times = startup[id] ?? []
      startup[id] = times
      times.push(await timeToFirstHealthy(commands.get(id) ?? [], envOf(id)))
      progress(
        `startup ${CONTENDERS[id].label} (database ${databaseName(id)}) ${i + 1}/${startupRuns}: ${times.at(-1)?.toFixed(0)} ms`,
      )
    }
  }

  for (const id of contenderIds) {
    running.push({ id, process: await startContender(id, commands.get(id) ?? [], envOf(id)) })
    const on = CONTENDERS[id].group === 'db' ? ` on database ${databaseName(id)}` : ' (no database)'
    progress(`started ${CONTENDERS[id].label}${on}`)
  }

  if (idleSeconds > 0) idle = await measureIdle(dbContenderIds.length ? db.pid : undefined)

  const nodbUsers = benchUsers(200)
  const nodb: WorkloadContext = { ids: nodbUsers.map((u) => u.id), usernames: nodbUsers.map((u) => u.username), headers }
  // The same users and requests for every DB contender; only the database they are read from differs.
  const contextOf = (id: ContenderId): WorkloadContext =>
    CONTENDERS[id].group === 'db' ? { ...seeded, headers, db: { uri: db.uri, name: databaseName(id) } } : nodb
  for (const workloadId of workloads) {
    // The no-database pair measures the service's own cost on one workload: GET by id.
    for (const group of workloadId === 'get-by-id' ? (['db', 'nodb'] as const) : (['db'] as const)) {
      const contenders = running.filter((c) => CONTENDERS[c.id].group === group)
      if (contenders.length) await runWorkload(workloadId, contenders, contextOf, group === 'db' ? db.pid : undefined)
    }
  }
} finally {
  await stopAll()
}

/**
 * Every running contender's process-tree CPU over one idle spell, all at once (after they settle
 * from starting), and the database server's over the same spell.
 */
async function measureIdle(dbPid: number | undefined): Promise<Idle> {
  const pids = running.map((c) => c.process.pid)
  progress(`idle: letting ${running.length} contenders settle, then ${idleSeconds} s with no load`)
  const measured = dbPid ? [...pids, dbPid] : pids
  await settle(measured)
  const msPerSecond = await idleCpuMsPerSecond(measured, idleSeconds)
  const result: Idle = {
    seconds: idleSeconds,
    contenders: Object.fromEntries(running.map((c, i) => [c.id, msPerSecond[i] ?? 0])),
    ...(dbPid ? { databaseMsPerSecond: msPerSecond[pids.length] ?? 0 } : {}),
  }
  for (const line of idleLines(result)) progress(`idle CPU ${line}`)
  return result
}

async function runWorkload(
  workloadId: WorkloadId,
  contenders: { id: ContenderId; process: Contender }[],
  contextOf: (id: ContenderId) => WorkloadContext,
  dbPid: number | undefined,
) {
  const workload = WORKLOADS[workloadId]
  const prepared = new Map<ContenderId, string | undefined>()
  for (const c of contenders) {
    if (workload.prepare) progress(`${workloadId}: finding ${c.id}'s deep cursor`)
    prepared.set(c.id, await workload.prepare?.(c.id, c.process.url, contextOf(c.id)))
  }
  const run = async (c: { id: ContenderId; process: Contender }, runSeconds: number) => {
    await settle(dbPid ? [dbPid, ...contenders.map((x) => x.process.pid)] : contenders.map((x) => x.process.pid))
    return runWrk(c.process, {
      lua: await workload.lua(contextOf(c.id), prepared.get(c.id)),
      seconds: runSeconds,
      connections: workload.connections,
      ...(dbPid ? { dbPid } : {}),
      // Deferred work (the service's relay behind a burst of creates) is charged to this round.
      settleSeconds: SETTLE_AFTER_SECONDS,
    })
  }
  const runSeconds = Math.max(seconds, workload.minSeconds ?? 0)
  for (const c of contenders) {
    progress(`${workloadId}: warming up ${c.id}`)
    await run(c, Math.min(warmSeconds, runSeconds))
  }
  const results = new Map<ContenderId, LoadResult[]>(contenders.map((c) => [c.id, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const c of round % 2 ? contenders : [...contenders].reverse()) {
      const result = await run(c, runSeconds)
      results.get(c.id)?.push(result)
      const db = result.dbCpuUsPerRequest === undefined ? '' : `, DB ${result.dbCpuUsPerRequest.toFixed(0)} µs/req`
      const errors = result.errors ? `, ${result.errors} ERRORS` : ''
      const settled = (result.settledSeconds ?? 0) >= 1 ? `, quiet ${result.settledSeconds?.toFixed(0)} s after` : ''
      const where = CONTENDERS[c.id].group === 'db' ? ` (${databaseName(c.id)})` : ''
      progress(
        `${workloadId} round ${round}/${rounds} ${c.id}${where}: ${result.rps.toFixed(result.rps < 10 ? 2 : 0)} req/s, ${result.cpuUsPerRequest.toFixed(0)} µs CPU/req${db}, p99 ${result.p99Ms.toFixed(1)} ms${errors}${settled}`,
      )
    }
  }
  for (const c of contenders) {
    all.push({ workload: workloadId, contender: c.id, runs: results.get(c.id) ?? [], peakRssMb: treePeakRssMb(c.process.pid) })
  }
}

const rows = summarize(all)
const verdicts = targets(rows, startup)
console.log()
console.log(table(tableRows(rows)))
console.log('\nstartup (spawn to first 200 on /healthz, database up):')
for (const [id, times] of Object.entries(startup)) {
  console.log(
    `  ${CONTENDERS[id as ContenderId].label}: median ${median(times).toFixed(0)} ms of ${times.map((t) => t.toFixed(0)).join(', ')}`,
  )
}
if (idle) {
  console.log(`\nidle CPU (ms per second doing nothing, over ${idle.seconds} s, every contender started and settled, no load):`)
  for (const line of idleLines(idle)) console.log(`  ${line}`)
}
console.log('\ntargets:')
for (const t of verdicts) console.log(`  ${t.status.padEnd(4)} ${t.text}`)
console.log(
  '\nratios are to the floor (DB contenders) or raw Bun.serve (no-DB pair) in the same run; CPU is the whole process tree, user+system.',
)

const date = new Date().toISOString()
const stamp = date.replaceAll(':', '-').replace(/\..*/, '')
const dir = join(root, 'bench-results')
mkdirSync(dir, { recursive: true })
const command = `bun run bench${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`
const method =
  `wrk -t1 with a fixed number of connections per workload (${workloads.map((w) => `${w} ${WORKLOADS[w].connections}`).join(', ')}), ` +
  `${warmSeconds} s warm-up per contender, ${rounds} alternating rounds (run length: ` +
  `${workloads.map((w) => `${w} ${Math.max(seconds, WORKLOADS[w].minSeconds ?? 0)} s`).join(', ')}); medians; ` +
  `the same ${USERS.toLocaleString('en-US')} seeded users in each contender's own database on one embedded FerretDB.`
const jsonFile = join(dir, `bench-${stamp}.json`)
writeFileSync(
  jsonFile,
  JSON.stringify(
    {
      date,
      machine: machine(),
      command,
      quick,
      rounds,
      seconds,
      warmSeconds,
      workloads,
      rows,
      startup,
      idle: idle ?? null,
      databases: Object.fromEntries(dbContenderIds.map((id) => [id, databaseName(id)])),
      targets: verdicts,
      raw: all,
    },
    null,
    2,
  ),
)
const svgFile = join(dir, `bench-${stamp}.svg`)
writeFileSync(svgFile, chart(rows, `${command} — ${date.slice(0, 16)}Z — ${machine()}`))
console.log(`\nresults: ${jsonFile}\nchart:   ${svgFile}`)

if (args['update-docs']) {
  copyFileSync(svgFile, join(root, 'docs', 'performance.svg'))
  const mdFile = join(root, 'docs', 'performance.md')
  const md = readFileSync(mdFile, 'utf8')
  const start = md.indexOf(DOCS_START)
  const end = md.indexOf(DOCS_END)
  if (start < 0 || end < start) throw new Error(`${mdFile} has lost its bench markers; put them back around the results`)
  const section = docsSection({
    date: date.slice(0, 16).replace('T', ' '),
    machine: machine(),
    command,
    method,
    rows,
    startup,
    ...(idle ? { idle } : {}),
    targets: verdicts,
  })
  writeFileSync(mdFile, md.slice(0, start) + section + md.slice(end + DOCS_END.length))
  console.log('docs/performance.md and docs/performance.svg updated')
}
