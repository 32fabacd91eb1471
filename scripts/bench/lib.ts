/**
 * Pieces shared by the benchmark scripts: the embedded database, seeded users, contender
 * processes, and CPU/RSS readings from /proc (wrk runs are in wrk.ts). Benchmarks print ratios between contenders
 * measured side by side in one run; no absolute figure is compared across machines.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedDatabase } from '../../src/db/embedded'

export const root = new URL('../..', import.meta.url).pathname
const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${process.platform}, bun ${Bun.version}`
}

/** A logger for the relay in a benchmark: errors only, on stderr (the tables go to stdout). */
export const quietLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (object: object, message?: string) => console.error(message, object),
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
