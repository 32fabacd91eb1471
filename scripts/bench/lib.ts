/**
 * Pieces shared by the benchmark scripts: the embedded database, seeded users, contender
 * processes, wrk runs, and CPU/RSS readings from /proc. Benchmarks print ratios between contenders
 * measured side by side in one run; no absolute figure is compared across machines.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedDatabase } from '../../src/db/embedded'

export const root = new URL('../..', import.meta.url).pathname
const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100

/** wrk is the load generator: a C program, so it takes little of the CPU it measures. */
export function requireWrk(): string {
  const found = spawnSync('sh', ['-c', 'command -v wrk']).stdout.toString().trim()
  if (!found) {
    console.error('wrk is not installed: apt-get install -y wrk (Debian/Ubuntu) or brew install wrk (macOS).')
    process.exit(2)
  }
  return found
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${process.platform}, bun ${Bun.version}`
}

/** The embedded database, plus the pid of its launcher process so its CPU time can be read too. */
export async function startDatabase() {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-db-'))
  const before = new Set(children(process.pid))
  const db = await startEmbeddedDatabase({ dataDir, onProgress: (m) => console.error(m) })
  // The launcher is the child that appeared while it started (it runs FerretDB in-process).
  const pid = children(process.pid).find((p) => !before.has(p)) ?? 0
  return {
    uri: db.uri,
    pid,
    stop: async () => {
      await db.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A free TCP port on loopback (never a fixed one: the machine is shared). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  await new Promise((done) => server.close(done))
  return port
}

export type Contender = { name: string; pid: number; url: string; stop(): Promise<void> }

/** Starts a server process on a free port and waits for its first 200 on `/healthz` (or `readyPath`). */
export async function startContender(
  name: string,
  command: string[],
  env: Record<string, string>,
  readyPath = '/healthz',
): Promise<Contender> {
  const port = await freePort()
  const proc = Bun.spawn(command, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) },
    stdout: 'ignore',
    stderr: 'pipe',
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited: ${await new Response(proc.stderr).text()}`)
    try {
      if ((await fetch(`${url}${readyPath}`)).ok) break
    } catch {}
    if (Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`${name} did not become ready within 60 s`)
    }
    await Bun.sleep(50)
  }
  return {
    name,
    pid: proc.pid,
    url,
    stop: async () => {
      proc.kill('SIGTERM')
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5000)
      await proc.exited
      clearTimeout(killer)
    },
  }
}

/**
 * Milliseconds from spawning `command` to its first 200 on `/healthz`, polled every 2 ms; the
 * process is stopped afterwards.
 */
export async function timeToFirstHealthy(command: string[], env: Record<string, string>): Promise<number> {
  const port = await freePort()
  const started = performance.now()
  const proc = Bun.spawn(command, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) },
    stdout: 'ignore',
    stderr: 'pipe',
  })
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${command.join(' ')} exited: ${await new Response(proc.stderr).text()}`)
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return performance.now() - started
      } catch {}
      if (performance.now() - started > 30_000) throw new Error(`${command.join(' ')} did not become healthy within 30 s`)
      await Bun.sleep(2)
    }
  } finally {
    proc.kill('SIGTERM')
    await proc.exited
  }
}

/** User+system CPU seconds of a process and all its descendants, from /proc. */
export function cpuSeconds(pid: number): number {
  let ticks = 0
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15)
    } catch {}
  }
  return ticks / CLOCK_TICKS_PER_SECOND
}

/** Peak resident set size (VmHWM) of a process, in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return Math.round(kb / 1024)
}

/**
 * Peak RSS of a process tree: the sum of each live process's VmHWM (gunicorn's workers each have
 * their own). An upper bound, as the peaks need not coincide.
 */
export function treePeakRssMb(pid: number): number {
  let total = 0
  for (const p of [pid, ...descendants(pid)]) {
    try {
      total += peakRssMb(p)
    } catch {}
  }
  return total
}

function children(pid: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)])
    .stdout.toString()
    .trim()
  return out ? out.split('\n').map((s) => Number(s.trim())) : []
}

function descendants(pid: number): number[] {
  return children(pid).flatMap((child) => [child, ...descendants(child)])
}

/**
 * Waits until none of `pids` (process trees) uses more than 5 % of a core over 300 ms
 * (`quietWindows` such spells in a row), or `maxSeconds` pass. When wrk stops, requests it sent are still running (a list page keeps the
 * database busy for a second or more; a PATCH still bumps a version): without this, the next run
 * would be billed for them, and PATCH would start from versions that are about to change.
 */
export async function settle(pids: number[], maxSeconds = 30, quietWindows = 1): Promise<{ cpu: number[]; at: number }> {
  const deadline = performance.now() + maxSeconds * 1000
  let quiet = 0
  // Where the quiet spell began: the readings before its first window.
  let quietFrom = { cpu: pids.map(cpuSeconds), at: performance.now() }
  while (performance.now() < deadline) {
    const before = { cpu: pids.map(cpuSeconds), at: performance.now() }
    await Bun.sleep(300)
    const still = pids.every((pid, i) => cpuSeconds(pid) - (before.cpu[i] ?? 0) <= 0.015)
    if (still && quiet === 0) quietFrom = before
    quiet = still ? quiet + 1 : 0
    if (quiet >= quietWindows) return quietFrom
  }
  return { cpu: pids.map(cpuSeconds), at: performance.now() }
}

/**
 * CPU milliseconds per second that each of `pids` (process trees) spends over `seconds` of one
 * shared idle spell: all are read before and after the same sleep, each over its own elapsed time.
 */
export async function idleCpuMsPerSecond(pids: number[], seconds: number): Promise<number[]> {
  const before = pids.map((pid) => ({ cpu: cpuSeconds(pid), at: performance.now() }))
  await Bun.sleep(seconds * 1000)
  return pids.map((pid, i) => {
    const start = before[i] ?? { cpu: 0, at: 0 }
    const cpu = cpuSeconds(pid) - start.cpu
    return (cpu * 1000) / ((performance.now() - start.at) / 1000)
  })
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

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** A fixed-width table for the terminal. */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((row) =>
    row.map((cell) => (typeof cell === 'number' ? cell.toLocaleString('en-US', { maximumFractionDigits: 2 }) : cell)),
  )
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((row) => String(row[i] ?? '').length))) ?? []
  return cells.map((row) => row.map((cell, i) => String(cell).padEnd(widths[i] ?? 0)).join('  ')).join('\n')
}
