import { afterAll, describe, expect, it } from 'bun:test'
import { MongoClient } from 'mongodb'
import { CONTENDER_IDS, CONTENDERS, databaseName } from '../scripts/bench/contenders'
import type { Contender } from '../scripts/bench/lib'
import { docsSection, type Runs, summarize, targets } from '../scripts/bench/report'
import { seedUsers } from '../scripts/bench/seed'
import { patchLua } from '../scripts/bench/workloads'
import { rotateLua, runWrk } from '../scripts/bench/wrk'

/**
 * The benchmark's own bookkeeping (bun run bench): wrk's counters, the PATCH script's If-Match
 * tracking, and how ratios and targets are judged. Needs wrk, like the benchmark. No timing is
 * asserted: only counts that a correct script gets exactly.
 */

/** A server for wrk to hit: in-process, on a free port. */
function serve(fetch: (req: Request) => Response | Promise<Response>) {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch })
  servers.push(server)
  return { name: 'test', pid: process.pid, url: server.url.origin, stop: async () => {} } satisfies Contender
}
const servers: ReturnType<typeof Bun.serve>[] = []
afterAll(() => {
  for (const server of servers) server.stop(true)
})

describe('runWrk', () => {
  it('counts HTTP error answers and 412s (they used to read 0: done() runs in its own Lua state)', async () => {
    const contender = serve((req) => new Response(null, { status: new URL(req.url).pathname === '/a' ? 412 : 404 }))
    const result = await runWrk(contender, { lua: rotateLua({ paths: ['/a', '/b'] }), seconds: 1, connections: 2 })
    expect(result.requests).toBeGreaterThan(0)
    expect(result.errors).toBe(result.requests)
    expect(result.preconditionFailed).toBeGreaterThan(0)
    expect(result.preconditionFailed).toBeLessThan(result.requests)
  })

  it('counts no errors when every answer is a 200', async () => {
    const contender = serve(() => Response.json({ ok: true }))
    const result = await runWrk(contender, { lua: rotateLua({ paths: ['/'] }), seconds: 1, connections: 2 })
    expect(result.requests).toBeGreaterThan(0)
    expect(result.errors).toBe(0)
  })
})

describe('the PATCH script', () => {
  it('sends the version each answer carried, so no PATCH is refused', async () => {
    // Versions start where the harness says they are; the server refuses any stale If-Match.
    const versions = new Map(Array.from({ length: 50 }, (_, i) => [i.toString(16).padStart(24, '0'), 3 + (i % 4)]))
    let patched = 0
    const contender = serve(async (req) => {
      const id = new URL(req.url).pathname.split('/').at(-1) ?? ''
      const current = versions.get(id) ?? 0
      const body = (await req.json()) as { displayName?: string }
      if (req.headers.get('if-match') !== `"${current}"` || !body.displayName) return new Response(null, { status: 412 })
      versions.set(id, current + 1)
      patched++
      return Response.json({ id, version: current + 1 }, { headers: { ETag: `"${current + 1}"` } })
    })
    const start = [...versions.entries()]
    const result = await runWrk(contender, { lua: patchLua(start, { Authorization: 'Bearer x' }), seconds: 1, connections: 8 })
    expect(result.requests).toBeGreaterThan(50) // every user was patched at least twice on average
    expect(result.preconditionFailed).toBe(0)
    expect(result.errors).toBe(0)
    expect(patched).toBeGreaterThanOrEqual(result.requests)
  })
})

describe('summarize and targets', () => {
  const run = (rps: number, cpuUsPerRequest: number) => ({
    requests: 100,
    rps,
    p50Ms: 1,
    p99Ms: 2,
    errors: 0,
    preconditionFailed: 0,
    cpuUsPerRequest,
    dbCpuUsPerRequest: 700,
  })
  const runs: Runs[] = [
    { workload: 'get-by-id', contender: 'floor', runs: [run(1000, 200), run(900, 180), run(1100, 220)], peakRssMb: 60 },
    { workload: 'get-by-id', contender: 'service', runs: [run(950, 240), run(920, 250), run(500, 260)], peakRssMb: 75 },
    { workload: 'get-by-id', contender: 'express', runs: [run(800, 400)], peakRssMb: 110 },
    { workload: 'get-by-id', contender: 'nodb-raw', runs: [run(20000, 10)], peakRssMb: 40 },
    { workload: 'get-by-id', contender: 'nodb-service', runs: [run(13000, 30)], peakRssMb: 80 },
  ]

  it('takes medians and ratios to the baseline of the same group', () => {
    const rows = summarize(runs)
    const service = rows.find((r) => r.contender === 'service')
    expect(service?.rps).toBe(920)
    expect(service?.rpsRatio).toBeCloseTo(0.92)
    expect(service?.cpuRatio).toBeCloseTo(1.25)
    expect(rows.find((r) => r.contender === 'nodb-service')?.rpsRatio).toBeCloseTo(0.65)
    expect(rows.find((r) => r.contender === 'nodb-service')?.dbCpuUsPerRequest).toBeNull()
  })

  it('judges each target, and says n/a for what was not measured or is only reported', () => {
    const listed: Runs[] = [
      { workload: 'list-first', contender: 'floor', runs: [run(1, 1000)], peakRssMb: 60 },
      { workload: 'list-first', contender: 'service', runs: [run(1, 3000)], peakRssMb: 75 },
    ]
    const verdicts = targets(summarize([...runs, ...listed]), { service: [120, 160, 140] })
    const status = (prefix: string) => verdicts.find((t) => t.text.startsWith(prefix))?.status
    expect(status('get-by-id: service CPU/req ≤ 1.20× floor')).toBe('FAIL') // 250 / 200 = 1.25
    expect(status('get-by-id: express CPU/req ≥ 1.5× service')).toBe('PASS') // 400 / 250 = 1.6
    expect(status('get-by-id: flask CPU/req')).toBe('n/a')
    expect(status('list-first: service CPU/req')).toBe('n/a') // reported, not judged
    expect(status('no DB: production stack CPU/req ≤ 2.5×')).toBe('FAIL') // 30 / 10 = 3
    expect(status('users-service on Bun: peak RSS under load ≤ floor + 20 MB')).toBe('PASS') // 75 - 60
    expect(status('users-service on Bun: spawn to first 200 on /healthz ≤ 150 ms')).toBe('PASS') // median 140 ms
    expect(status('users-service on Node: spawn')).toBe('n/a')
  })

  it('shows beside a ratio its spread round by round, each round against the same round of the other', () => {
    const verdicts = targets(summarize(runs), {})
    const text = (prefix: string) => verdicts.find((t) => t.text.startsWith(prefix))?.text
    // Medians 250 / 200; rounds 240 / 200, 250 / 180 and 260 / 220.
    expect(text('get-by-id: service CPU/req ≤ 1.20× floor')).toBe(
      'get-by-id: service CPU/req ≤ 1.20× floor: 1.25× (rounds 1.18–1.39)',
    )
    // One round of Express against three of the service: no pairs, no spread.
    expect(text('get-by-id: express CPU/req ≥ 1.5× service')).toBe('get-by-id: express CPU/req ≥ 1.5× service: 1.60×')
  })

  it('judges no ratio with a contender that answered errors: its CPU per request is not of the work', () => {
    const failing = { ...run(900, 2000), errors: 100 }
    const raced = { ...run(900, 300), errors: 5, preconditionFailed: 5 }
    // One wrk timeout in 1,000 requests is tolerated (1 %), two in 100 are not.
    const timedOut = { ...run(900, 700), requests: 1000, errors: 1 }
    const verdicts = targets(
      summarize([
        ...runs,
        { workload: 'get-by-id', contender: 'flask', runs: [failing], peakRssMb: 200 },
        { workload: 'patch', contender: 'floor', runs: [run(10, 250)], peakRssMb: 60 },
        { workload: 'patch', contender: 'service', runs: [raced], peakRssMb: 75 },
        { workload: 'patch', contender: 'express', runs: [timedOut], peakRssMb: 75 },
        { workload: 'patch', contender: 'flask', runs: [{ ...run(900, 2000), errors: 2 }], peakRssMb: 75 },
      ]),
      {},
    )
    const verdict = (prefix: string) => verdicts.find((t) => t.text.startsWith(prefix))
    // 2000 / 250 = 8× would pass.
    expect(verdict('get-by-id: flask CPU/req ≥ 4× service')).toEqual({
      text: 'get-by-id: flask CPU/req ≥ 4× service: not judged, flask answered 100 requests with errors',
      status: 'FAIL',
    })
    expect(verdict('get-by-id: express CPU/req ≥ 1.5× service')?.status).toBe('PASS')
    // 412s of racing PATCHes are answers to the work: 300 / 250 = 1.2.
    expect(verdict('patch: service CPU/req ≤ 1.20× floor')?.status).toBe('PASS')
    expect(verdict('patch: express CPU/req ≥ 1.5× service')?.status).toBe('PASS') // 700 / 300
    expect(verdict('patch: flask CPU/req ≥ 4× service')?.text).toContain('not judged, flask answered 2 requests with errors')
  })
})

describe('a database per contender', () => {
  it('names a distinct database for each contender that uses one, without a "-"', () => {
    const names = CONTENDER_IDS.filter((id) => CONTENDERS[id].group === 'db').map(databaseName)
    expect(new Set(names).size).toBe(names.length)
    expect(names).toContain('bench_service_before')
    for (const name of names) expect(name).toMatch(/^bench_[a-z_]+$/)
  })

  it('seeds the same users (ids, usernames, createdAt) into every database it is given', async () => {
    const suffix = crypto.randomUUID().slice(0, 8)
    const names = [`bench_test_a_${suffix}`, `bench_test_b_${suffix}`]
    const client = new MongoClient(globalThis.testMongoUri)
    try {
      // More than one insert batch (500), so every batch goes to both.
      const seeded = await seedUsers(globalThis.testMongoUri, names, 520)
      expect(seeded.ids).toHaveLength(520)
      const stored = await Promise.all(
        names.map((name) =>
          client
            .db(name)
            .collection('users')
            .find({}, { projection: { username: 1, createdAt: 1 }, sort: { _id: 1 } })
            .toArray(),
        ),
      )
      const described = seeded.ids
        .map((id, i) => ({ id, username: seeded.usernames[i], createdAt: seeded.createdAt[i] }))
        .sort((a, b) => a.id.localeCompare(b.id))
      for (const docs of stored) {
        expect(
          docs.map((d) => ({ id: d._id.toHexString(), username: d.username, createdAt: d.createdAt.toISOString() })),
        ).toEqual(described)
      }
    } finally {
      for (const name of names) await client.db(name).dropDatabase()
      await client.close()
    }
  })
})

describe('the docs section', () => {
  const options = {
    date: '2025-01-01 00:00',
    machine: 'm',
    command: 'bun run bench',
    method: 'm.',
    rows: [],
    startup: {},
    targets: [],
  }

  it("lists each contender's idle CPU, and the database's, when it was measured", () => {
    const section = docsSection({
      ...options,
      idle: { seconds: 10, contenders: { floor: 1.25, service: 21.5 }, databaseMsPerSecond: 40 },
    })
    expect(section).toContain('**Idle** (CPU ms per second doing nothing, over 10 s')
    expect(section).toContain(`- ${CONTENDERS.floor.label}: 1.3 ms/s`)
    expect(section).toContain(`- ${CONTENDERS.service.label}: 21.5 ms/s`)
    expect(section).toMatch(/- the database server .*: 40\.0 ms\/s/)
  })

  it('has no idle section when the idle measurement was skipped (--idle-seconds 0)', () => {
    expect(docsSection(options)).not.toContain('**Idle**')
  })
})
