/**
 * What auth, request logging and metrics cost on GET /v1/users/{id}: the same app with them
 * (`full`) and without them (`bare`), against the same embedded database and users, measured in
 * alternating rounds. `bun run bench:overhead [--quick]`; results also go to bench-results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connectDatabase } from '../../src/db/mongo'
import { createUsersRepository } from '../../src/users/users.repository'
import { machine, median, root, startContender, startDatabase, table } from './lib'
import { type LoadResult, requireWrk, rotateLua, runWrk } from './wrk'

const quick = process.argv.includes('--quick')
const rounds = quick ? 3 : 5
const seconds = quick ? 4 : 8
requireWrk()
console.log(`machine: ${machine()}`)
console.log(`GET /v1/users/{id} over 200 users, wrk -t1 -c16, ${rounds} alternating rounds of ${seconds} s after a warm-up`)

const db = await startDatabase()
const dbName = 'bench_overhead'
const seedConnection = await connectDatabase(db.uri, dbName)
const users = createUsersRepository(seedConnection)
await users.ensureIndexes()
const ids: string[] = []
for (let i = 0; i < 200; i++) {
  const written = await users.create({
    username: `bench${i}`,
    email: `bench${i}@example.com`,
    metadata: { i },
    role: 'user',
    status: 'active',
  })
  if (written.kind !== 'written') throw new Error(`seeding bench${i}: ${written.kind}`)
  ids.push(written.user.id)
}
await seedConnection.close()

const apiKey = `usk_bench_${crypto.randomUUID()}`
const env = { NODE_ENV: 'test', MONGODB_URI: db.uri, MONGODB_DB: dbName, BENCH_API_KEY: apiKey }
const contenders = [
  await startContender('full', ['bun', 'scripts/bench/serve-overhead.ts', 'full'], env),
  await startContender('bare', ['bun', 'scripts/bench/serve-overhead.ts', 'bare'], env),
]
const load = {
  lua: rotateLua({ paths: ids.map((id) => `/v1/users/${id}`), headers: { Authorization: `Bearer ${apiKey}` } }),
  connections: 16,
}
const results: Record<string, LoadResult[]> = { full: [], bare: [] }
try {
  for (const contender of contenders) await runWrk(contender, { ...load, seconds: 2 }) // warm-up
  for (let round = 1; round <= rounds; round++) {
    for (const contender of round % 2 ? contenders : [...contenders].reverse()) {
      const result = await runWrk(contender, { ...load, seconds })
      if (result.errors > 0) throw new Error(`${contender.name}: ${result.errors} error responses`)
      results[contender.name]?.push(result)
      process.stderr.write(
        `round ${round}/${rounds} ${contender.name}: ${Math.round(result.rps)} req/s, ${result.cpuUsPerRequest.toFixed(0)} µs CPU/req\n`,
      )
    }
  }
} finally {
  for (const contender of contenders) await contender.stop()
  await db.stop()
}

const summary = Object.fromEntries(
  Object.entries(results).map(([name, runs]) => [
    name,
    {
      rps: median(runs.map((r) => r.rps)),
      cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
    },
  ]),
) as Record<'full' | 'bare', { rps: number; cpuUsPerRequest: number; p50Ms: number; p99Ms: number }>
console.log()
console.log(
  table([
    ['contender', 'req/s (median)', 'CPU µs/req (app)', 'p50 ms', 'p99 ms', 'req/s ratio', 'CPU ratio'],
    ...(['bare', 'full'] as const).map((name) => [
      name === 'full' ? 'with auth + logs + metrics' : 'without them (baseline)',
      summary[name].rps,
      summary[name].cpuUsPerRequest,
      summary[name].p50Ms,
      summary[name].p99Ms,
      summary[name].rps / summary.bare.rps,
      summary[name].cpuUsPerRequest / summary.bare.cpuUsPerRequest,
    ]),
  ]),
)
const dir = join(root, 'bench-results')
mkdirSync(dir, { recursive: true })
const file = join(dir, `overhead-${new Date().toISOString().replaceAll(':', '-')}.json`)
writeFileSync(file, JSON.stringify({ machine: machine(), rounds, seconds, results, summary }, null, 2))
console.log(`\nraw results: ${file}`)
