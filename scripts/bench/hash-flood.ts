/**
 * `bun run bench:hash-flood [--before <revision>[,<revision>]] [--rounds n] [--flood n] [--node]
 * [--concurrency n] [--queue n]`: how long a
 * login (POST /v1/auth/verify) takes while 60 creates with a password arrive at once (issue 13,
 * finding 4). Starts the embedded database and the service (and, with --before, the service as it
 * was at each revision, all on the same database server), then in rounds that alternate the
 * contenders' order measures each one's unloaded verify latency, and its verify latency during a
 * flood of creates of a taken username and during a flood of creates of new usernames. The target: a verify during a flood answers within
 * 2 × its unloaded latency plus one hash time. Figures, not assertions: a shared machine is noisy.
 */

import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { ARGON2_PARAMETERS } from '../../src/users/passwords'
import { checkoutAt } from './contenders'
import { type Contender, machine, median, root, startContender, startDatabase, table } from './lib'

const { values: args } = parseArgs({
  options: {
    before: { type: 'string' },
    rounds: { type: 'string' },
    flood: { type: 'string' },
    node: { type: 'boolean', default: false },
    concurrency: { type: 'string' },
    queue: { type: 'string' },
  },
})
const rounds = Number(args.rounds ?? 5)
const floodSize = Number(args.flood ?? 60)
const PASSWORD = 'correct horse battery staple'

const progress = (message: string) => console.error(`[hash-flood] ${message}`)

type Figures = {
  label: string
  unloadedVerifyMs: number
  hashMs: number
  taken: FloodFigures
  fresh: FloodFigures
}
type FloodFigures = { verifyMs: number[]; statuses: Record<number, number>; drainMs: number[] }

const db = await startDatabase()
// This tree's pool settings (PASSWORD_HASH_*): its defaults unless --concurrency/--queue say otherwise.
const poolEnv: Record<string, string> = {
  ...(args.concurrency ? { PASSWORD_HASH_CONCURRENCY: args.concurrency } : {}),
  ...(args.queue ? { PASSWORD_HASH_QUEUE: args.queue } : {}),
}
const contenders: { label: string; command: string[] }[] = [
  { label: 'users-service on Bun (this tree)', command: ['bun', 'src/index.ts'] },
]
if (args.node) {
  const build = spawnSync('bun', ['run', 'build:node'], { cwd: root, encoding: 'utf8' })
  if (build.status !== 0) throw new Error(`bun run build:node failed:\n${build.stdout}${build.stderr}`)
  contenders.push({ label: 'users-service on Node (this tree)', command: ['node', 'dist/node/node.js'] })
}
// --before a,b: the service as it was at each revision, on Bun.
for (const revision of args.before?.split(',').filter(Boolean) ?? []) {
  contenders.push({ label: `users-service on Bun at ${revision}`, command: ['bun', `${checkoutAt(revision)}/src/index.ts`] })
}

type Target = { label: string; service: Contender; probe: Probe }

const results: Figures[] = []
const targets: Target[] = []
try {
  progress(`${machine()}; ${rounds} rounds of ${floodSize} parallel creates per flood`)
  await timeOneHash() // warm-up
  const hashMs = median(await timeHashes(5))
  // On Node the service hashes with @node-rs/argon2: its own hash time is Node's budget.
  const nodeHashMs = args.node ? nodeHashTime() : hashMs
  progress(`one argon2id hash: ${hashMs.toFixed(0)} ms on Bun${args.node ? `, ${nodeHashMs.toFixed(0)} ms on Node` : ''}`)
  for (const [index, contender] of contenders.entries()) {
    const apiKey = `usk_${randomBytes(32).toString('base64url')}`
    const service = await startContender(contender.label, contender.command, {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      MONGODB_URI: db.uri,
      MONGODB_DB: `hash_flood_${index}`,
      ...(index === 0 ? poolEnv : {}),
      LOG_LEVEL: 'warn',
      METRICS_PUBLIC: 'true',
      AUTH_API_KEYS: JSON.stringify([
        { name: 'bench', sha256: createHash('sha256').update(apiKey).digest('hex'), scopes: ['users:read', 'users:write'] },
      ]),
    })
    targets.push({ label: contender.label, service, probe: await prepare(service, apiKey) })
  }
  // Every contender runs, idle but for the one measured; rounds alternate their order
  // (A B C, then C B A) so that a noisy minute on a shared machine does not fall on one of them.
  const figures = targets.map(() => ({ unloaded: [] as number[], taken: emptyFlood(), fresh: emptyFlood() }))
  for (let round = 0; round < rounds; round++) {
    const order = targets.map((_, i) => i)
    if (round % 2 === 1) order.reverse()
    progress(`round ${round + 1}/${rounds}`)
    for (const i of order) {
      const { probe } = targets[i] as Target
      const f = figures[i] as (typeof figures)[number]
      for (let k = 0; k < 3; k++) f.unloaded.push(await probe.verify())
      await flood(probe, f.taken, () => probe.taken)
      await flood(probe, f.fresh, (n) => `flood.${probe.runId}.${round}.${n}`)
    }
  }
  for (const [i, target] of targets.entries()) {
    const f = figures[i] as (typeof figures)[number]
    const hashTime = target.label.includes('on Node') ? nodeHashMs : hashMs
    results.push({ label: target.label, hashMs: hashTime, unloadedVerifyMs: median(f.unloaded), taken: f.taken, fresh: f.fresh })
  }
} finally {
  for (const { service } of targets) await service.stop()
  await db.stop()
}

const ms = (value: number) => Math.round(value)
const rows: (string | number)[][] = [
  ['contender', 'verify unloaded', 'one hash', 'budget', 'during taken-name floods', 'during new-name floods', 'flood answers'],
]
for (const r of results) {
  const budget = 2 * r.unloadedVerifyMs + r.hashMs
  const cell = (f: FloodFigures) => {
    const within = f.verifyMs.filter((v) => v <= budget).length
    return `median ${ms(median(f.verifyMs))}, max ${ms(Math.max(...f.verifyMs))} ms; ${within}/${f.verifyMs.length} within`
  }
  rows.push([
    r.label,
    `${ms(r.unloadedVerifyMs)} ms`,
    `${ms(r.hashMs)} ms`,
    `${ms(budget)} ms`,
    cell(r.taken),
    cell(r.fresh),
    `taken: ${describe(r.taken.statuses)}; new: ${describe(r.fresh.statuses)}`,
  ])
}
console.log(
  `\nVerify latency during ${floodSize} parallel creates (${rounds} rounds, interleaved); budget = 2 × unloaded verify + one hash of that runtime`,
)
console.log(table(rows))
for (const r of results) {
  console.log(
    `${r.label}: floods drained in ${ms(median(r.taken.drainMs))} ms (taken names) and ${ms(median(r.fresh.drainMs))} ms (new names), medians`,
  )
}

type Probe = Awaited<ReturnType<typeof prepare>>

/** Creates the user who logs in and the taken username; warms the service up. */
async function prepare(service: Contender, apiKey: string) {
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }
  const post = (path: string, body: object) =>
    fetch(`${service.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
  const runId = randomBytes(3).toString('hex')
  const login = `login.${runId}`
  const taken = `taken.${runId}`
  for (const username of [login, taken]) {
    const res = await post('/v1/users', { username, email: `${username}@example.com`, password: PASSWORD })
    if (res.status !== 201) throw new Error(`setup create ${username}: ${res.status} ${await res.text()}`)
  }
  const verify = async () => {
    const started = performance.now()
    const res = await post('/v1/auth/verify', { login, password: PASSWORD })
    if (res.status !== 200) throw new Error(`verify: ${res.status} ${await res.text()}`)
    return performance.now() - started
  }
  // The dummy hash, the JIT, the connections.
  for (let i = 0; i < 3; i++) await verify()
  return { post, verify, taken, runId }
}

function emptyFlood(): FloodFigures {
  return { verifyMs: [], statuses: {}, drainMs: [] }
}

/** One flood of parallel creates; a login arrives 50 ms into it, behind the flood. */
async function flood(probe: Probe, figures: FloodFigures, usernameFor: (n: number) => string): Promise<void> {
  const started = performance.now()
  const creates = Array.from({ length: floodSize }, (_, n) => {
    const username = usernameFor(n)
    return probe.post('/v1/users', { username, email: `${username}@example.com`, password: PASSWORD }).then(async (res) => {
      await res.arrayBuffer()
      figures.statuses[res.status] = (figures.statuses[res.status] ?? 0) + 1
    })
  })
  await Bun.sleep(50)
  figures.verifyMs.push(await probe.verify())
  await Promise.all(creates)
  figures.drainMs.push(performance.now() - started)
  await Bun.sleep(500)
}

/** Median of 5 argon2id hashes with @node-rs/argon2 and the service's parameters, in a node process. */
function nodeHashTime(): number {
  const script = `
    const { hash } = require('@node-rs/argon2')
    const params = { algorithm: 2, parallelism: 1, memoryCost: ${ARGON2_PARAMETERS.memoryCost}, timeCost: ${ARGON2_PARAMETERS.timeCost} }
    ;(async () => {
      await hash('warm-up', params)
      const times = []
      for (let i = 0; i < 5; i++) { const t = performance.now(); await hash('${PASSWORD}', params); times.push(performance.now() - t) }
      console.log(JSON.stringify(times))
    })()`
  const run = spawnSync('node', ['-e', script], { cwd: root, encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`timing @node-rs/argon2 failed:\n${run.stderr}`)
  return median(JSON.parse(run.stdout) as number[])
}

/** Median of `count` argon2id hashes with the service's parameters, in this process. */
async function timeHashes(count: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < count; i++) times.push(await timeOneHash())
  return times
}

async function timeOneHash(): Promise<number> {
  const started = performance.now()
  await Bun.password.hash(PASSWORD, { algorithm: 'argon2id', ...ARGON2_PARAMETERS })
  return performance.now() - started
}

function describe(statuses: Record<number, number>): string {
  return Object.entries(statuses)
    .map(([status, count]) => `${count} × ${status}`)
    .join(', ')
}
