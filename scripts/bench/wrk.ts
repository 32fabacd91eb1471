/**
 * wrk, the load generator of the benchmarks: finding it, the Lua scripts it runs, and one run
 * against a contender with the CPU its process tree (and the database's) spent meanwhile.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Contender, cpuSeconds, settle } from './lib'

/** wrk is the load generator: a C program, so it takes little of the CPU it measures. */
export function requireWrk(): string {
  const found = spawnSync('sh', ['-c', 'command -v wrk']).stdout.toString().trim()
  if (!found) {
    console.error('wrk is not installed: apt-get install -y wrk (Debian/Ubuntu) or brew install wrk (macOS).')
    process.exit(2)
  }
  return found
}

/** wrk threads per run: one, so wrk (a C program) takes as little as possible of the CPU it measures. */
export const WRK_THREADS = 1

export type LoadResult = {
  requests: number
  rps: number
  p50Ms: number
  p99Ms: number
  /** HTTP answers >= 400 plus socket errors (connect, read, write, timeout). */
  errors: number
  /** Of those, 412 Precondition Failed (a PATCH that sent a stale If-Match). */
  preconditionFailed: number
  cpuUsPerRequest: number
  /** CPU of the database process per request, when its pid was given. */
  dbCpuUsPerRequest?: number
  /** Seconds after wrk stopped until the contender and the database went quiet (their CPU then is counted too). */
  settledSeconds?: number
}

/**
 * A wrk script that rotates over `paths` with one method, body and set of headers. For anything
 * smarter, write the `request` (and optionally `on_response(status, headers, body)`) functions
 * yourself and pass them to runWrk as `lua`.
 */
export function rotateLua(options: {
  paths: string[]
  method?: string
  body?: string
  headers?: Record<string, string>
}): string {
  const headers = { ...(options.body ? { 'Content-Type': 'application/json' } : {}), ...options.headers }
  return `
local paths = { ${options.paths.map((p) => JSON.stringify(p)).join(', ')} }
local i = 0
wrk.method = ${JSON.stringify(options.method ?? 'GET')}
${options.body ? `wrk.body = ${JSON.stringify(options.body)}` : ''}
${Object.entries(headers)
  .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
  .join('\n')}
request = function()
  i = i + 1
  return wrk.format(nil, paths[(i % #paths) + 1])
end
`
}

/**
 * Counting that every script shares. wrk runs request/response in one Lua state per thread and
 * done() in another, so the counters are read back from each thread in done().
 */
const COUNTERS_LUA = `
errors = 0
precondition_failed = 0
local threads = {}
local thread_count = 0
setup = function(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end
response = function(status, headers, body)
  if status >= 400 then errors = errors + 1 end
  if status == 412 then precondition_failed = precondition_failed + 1 end
  if on_response then on_response(status, headers, body) end
end
done = function(summary, latency, requests)
  local http_errors, failed = 0, 0
  for _, thread in ipairs(threads) do
    http_errors = http_errors + thread:get("errors")
    failed = failed + thread:get("precondition_failed")
  end
  local e = summary.errors
  io.write(string.format("RESULT %d %f %f %d %d\\n", summary.requests, latency:percentile(50), latency:percentile(99),
    http_errors + e.connect + e.read + e.write + e.timeout, failed))
end
`

/**
 * Runs wrk (one thread, a fixed number of connections) with `lua` against a contender and
 * measures the CPU time of its process tree, and of the database's when `dbPid` is given.
 */
export async function runWrk(
  contender: Contender,
  options: {
    lua: string
    seconds: number
    connections: number
    dbPid?: number
    timeoutSeconds?: number
    /**
     * After wrk stops, wait until the contender and the database are quiet (at most this many
     * seconds) and count their CPU until then: work a request left for later (the service's events
     * relay moving a create's event) is the request's cost, and must not land in the next round.
     */
    settleSeconds?: number
  },
): Promise<LoadResult> {
  const scriptDir = mkdtempSync(join(tmpdir(), 'wrk-'))
  const script = join(scriptDir, 'bench.lua')
  writeFileSync(script, `${options.lua}\n${COUNTERS_LUA}`)
  const before = cpuSeconds(contender.pid)
  const dbBefore = options.dbPid ? cpuSeconds(options.dbPid) : 0
  const started = performance.now()
  // Asynchronous, so this process's own servers (tests) keep answering while wrk runs.
  const wrk = Bun.spawn(
    [
      'wrk',
      `-t${WRK_THREADS}`,
      `-c${options.connections}`,
      `-d${options.seconds}s`,
      `--timeout`,
      `${options.timeoutSeconds ?? 30}s`,
      '-s',
      script,
      contender.url,
    ],
    { stdout: 'pipe', stderr: 'pipe' },
  )
  const [stdout, stderr] = await Promise.all([new Response(wrk.stdout).text(), new Response(wrk.stderr).text()])
  await wrk.exited
  const elapsed = (performance.now() - started) / 1000
  // Quiet for 1.5 s on end (a relay between two passes of a backlog pauses for a moment, not
  // that long); CPU is counted up to where the quiet began, so the quiet spell itself costs nothing.
  const settling = performance.now()
  const pids = options.dbPid ? [contender.pid, options.dbPid] : [contender.pid]
  const end = options.settleSeconds
    ? await settle(pids, options.settleSeconds, 5)
    : { cpu: pids.map(cpuSeconds), at: performance.now() }
  const settledSeconds = Math.max(0, (end.at - settling) / 1000)
  const cpu = (end.cpu[0] ?? 0) - before
  const dbCpu = options.dbPid ? (end.cpu[1] ?? 0) - dbBefore : 0
  rmSync(scriptDir, { recursive: true, force: true })
  const match = /RESULT (\d+) ([\d.]+) ([\d.]+) (\d+) (\d+)/.exec(stdout)
  if (!match) throw new Error(`wrk failed: ${stdout}${stderr}`)
  const requests = Number(match[1])
  const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(requests, 1)
  return {
    requests,
    rps: requests / elapsed,
    p50Ms: Number(match[2]) / 1000,
    p99Ms: Number(match[3]) / 1000,
    errors: Number(match[4]),
    preconditionFailed: Number(match[5]),
    cpuUsPerRequest: perRequest(cpu),
    ...(options.dbPid ? { dbCpuUsPerRequest: perRequest(dbCpu) } : {}),
    ...(options.settleSeconds ? { settledSeconds } : {}),
  }
}
