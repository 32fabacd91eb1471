/**
 * Pieces shared by the benchmark scripts: the embedded database, seeded users, contender
 * processes, wrk runs, and CPU/RSS readings from /proc. Benchmarks print ratios between contenders
 * measured side by side in one run; no absolute figure is compared across machines.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

export async function startDatabase() {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-db-'))
  const db = await startEmbeddedDatabase({ dataDir, onProgress: (m) => console.error(m) })
  return {
    uri: db.uri,
    stop: async () => {
      await db.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export type Contender = { name: string; pid: number; url: string; stop(): Promise<void> }

/** Starts a server process and waits for its first 200 on `/healthz` (or `readyPath`). */
export async function startContender(
  name: string,
  command: string[],
  env: Record<string, string>,
  port: number,
  readyPath = '/healthz',
): Promise<Contender> {
  const proc = Bun.spawn(command, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdout: 'ignore',
    stderr: 'pipe',
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited: ${await new Response(proc.stderr).text()}`)
    try {
      if ((await fetch(`${url}${readyPath}`)).ok) break
    } catch {}
    if (Date.now() > deadline) throw new Error(`${name} did not become ready`)
    await Bun.sleep(50)
  }
  return {
    name,
    pid: proc.pid,
    url,
    stop: async () => {
      proc.kill('SIGTERM')
      await proc.exited
    },
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

function descendants(pid: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)])
    .stdout.toString()
    .trim()
  const children = out ? out.split('\n').map((s) => Number(s.trim())) : []
  return children.flatMap((child) => [child, ...descendants(child)])
}

export type LoadResult = { requests: number; rps: number; p50Ms: number; p99Ms: number; errors: number; cpuUsPerRequest: number }

/**
 * Runs wrk against `url`, rotating over `paths`, and measures the contender's CPU time during
 * the run. Non-2xx/3xx answers count as errors.
 */
export function runWrk(
  contender: Contender,
  options: {
    paths: string[]
    seconds: number
    connections: number
    method?: string
    body?: string
    headers?: Record<string, string>
  },
): LoadResult {
  const scriptDir = mkdtempSync(join(tmpdir(), 'wrk-'))
  const script = join(scriptDir, 'rotate.lua')
  const headers = Object.entries({ ...(options.body ? { 'Content-Type': 'application/json' } : {}), ...options.headers })
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n')
  writeFileSync(
    script,
    `
local paths = { ${options.paths.map((p) => JSON.stringify(p)).join(', ')} }
local i = 0
local errors = 0
wrk.method = ${JSON.stringify(options.method ?? 'GET')}
${options.body ? `wrk.body = ${JSON.stringify(options.body)}` : ''}
${headers}
request = function()
  i = i + 1
  return wrk.format(nil, paths[(i % #paths) + 1])
end
response = function(status)
  if status >= 400 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %f %f %d\\n", summary.requests, latency:percentile(50), latency:percentile(99), errors))
end
`,
  )
  const before = cpuSeconds(contender.pid)
  const started = performance.now()
  const run = spawnSync('wrk', ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '-s', script, contender.url], {
    encoding: 'utf8',
  })
  const elapsed = (performance.now() - started) / 1000
  const cpu = cpuSeconds(contender.pid) - before
  rmSync(scriptDir, { recursive: true, force: true })
  const match = /RESULT (\d+) ([\d.]+) ([\d.]+) (\d+)/.exec(run.stdout)
  if (!match) throw new Error(`wrk failed: ${run.stdout}${run.stderr}`)
  const requests = Number(match[1])
  // wrk's "errors" only count socket errors; the Lua counter adds HTTP errors.
  const socketErrors = Number(/Socket errors: .*?(\d+) timeout/.exec(run.stdout)?.[1] ?? 0)
  return {
    requests,
    rps: requests / elapsed,
    p50Ms: Number(match[2]) / 1000,
    p99Ms: Number(match[3]) / 1000,
    errors: Number(match[4]) + socketErrors,
    cpuUsPerRequest: (cpu * 1e6) / Math.max(requests, 1),
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
