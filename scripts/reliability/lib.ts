/**
 * Pieces shared by the reliability scripts: the embedded database and the service as real
 * processes (so they can be stopped and killed), RSS readings, percentiles, and a report that
 * prints progress as it goes and ends with a summary line the runner (run.ts) collects.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureLauncher } from '../../src/db/embedded'

export const root = new URL('../..', import.meta.url).pathname
const started = performance.now()

/**
 * Whatever ends the script, the processes it started end too: the database would follow anyway
 * (-watch-stdin), the service would not. An uncaught error is reported as a failure, not a stack
 * trace alone, and still runs the exit handlers (temp dirs, processes).
 */
const children = new Set<{ kill(signal?: number | NodeJS.Signals): void }>()
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error) => {
    console.error(`\nreliability script failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exit(1)
  })
}

/** Seconds since the script started, for progress lines. */
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s`

export function info(message: string): void {
  console.log(`${elapsed()}  ${message}`)
}

export function section(title: string): void {
  console.log(`\n${elapsed()}  == ${title}`)
}

/** Checks and figures of one script. `finish` prints them and sets the exit code. */
export function createReport(name: string) {
  const failures: string[] = []
  const figures: Record<string, string | number> = {}
  let checks = 0
  return {
    check(label: string, ok: boolean, detail = ''): boolean {
      checks++
      console.log(`${elapsed()}  ${ok ? 'ok  ' : 'FAIL'} ${label}${detail ? ` (${detail})` : ''}`)
      if (!ok) failures.push(detail ? `${label}: ${detail}` : label)
      return ok
    },
    figure(label: string, value: string | number): void {
      figures[label] = typeof value === 'number' ? Math.round(value * 10) / 10 : value
    },
    finish(): never {
      section(`${name}: ${failures.length ? `FAILED (${failures.length} of ${checks} checks)` : `passed (${checks} checks)`}`)
      for (const [label, value] of Object.entries(figures)) console.log(`         ${label}: ${value}`)
      for (const failure of failures) console.log(`         FAIL ${failure}`)
      // One machine-readable line for run.ts's summary.
      console.log(`RELIABILITY-SUMMARY ${JSON.stringify({ name, checks, failures, figures })}`)
      process.exit(failures.length ? 1 : 0)
    },
  }
}
export type Report = ReturnType<typeof createReport>

/** A temporary directory removed at exit, however the script ends (short of SIGKILL). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export type DatabaseProcess = {
  uri: string
  port: number
  pid: number
  /** Sends the signal and waits for the process to exit. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
}

/**
 * Starts the devdb launcher (FerretDB on SQLite behind its write-lock proxy) as a process of its
 * own on `dataDir`, on `port` (0: a free one). Not through startEmbeddedDatabase: the scripts
 * need the pid to kill it with SIGKILL. Its stdin is a pipe held open, so it dies with us
 * (-watch-stdin); its log goes to a file next to the data, never to our output.
 */
export async function startDatabase(dataDir: string, port = 0): Promise<DatabaseProcess> {
  const binary = await ensureLauncher((message) => info(message))
  const logFd = openSync(`${dataDir}.log`, 'a')
  const proc = Bun.spawn([binary, '-listen', `127.0.0.1:${port}`, '-data', dataDir, '-watch-stdin'], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: logFd,
  })
  closeSync(logFd)
  children.add(proc)
  void proc.exited.then(() => children.delete(proc))
  const line = await firstLine(proc.stdout, 15_000)
  if (!line) throw new Error(`the database did not start:\n${readFileSync(`${dataDir}.log`, 'utf8').slice(-2000)}`)
  const uri = line.trim()
  return {
    uri,
    port: Number(new URL(uri).port),
    pid: proc.pid,
    stop: async (signal = 'SIGTERM') => {
      proc.kill(signal)
      await proc.exited
    },
  }
}

async function firstLine(stream: ReadableStream<Uint8Array>, timeoutMs: number): Promise<string | undefined> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let buffered = ''
  const timeout = Bun.sleep(timeoutMs).then(() => ({ done: true, value: undefined }) as const)
  while (!buffered.includes('\n')) {
    const { done, value } = await Promise.race([reader.read(), timeout])
    if (done) return undefined
    buffered += decoder.decode(value, { stream: true })
  }
  reader.releaseLock()
  return buffered.slice(0, buffered.indexOf('\n'))
}

export type ServiceProcess = {
  url: string
  pid: number
  /** Log lines at level error or fatal so far (pino levels 50 and 60), and anything not JSON. */
  errorLines: string[]
  /** Log lines at level warn (40). */
  warnLines: string[]
  alive(): boolean
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<number>
}

/** Starts `bun src/index.ts` on a free port against `uri` and waits until it listens. */
export async function startService(uri: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const proc = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      PORT: '0',
      LOG_FORMAT: 'json',
      MONGODB_URI: uri,
      MONGODB_DB: 'reliability',
      ...env,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  children.add(proc)
  void proc.exited.then(() => children.delete(proc))
  const errorLines: string[] = []
  const warnLines: string[] = []
  let resolveUrl: (url: string) => void = () => {}
  const listening = new Promise<string>((resolve) => (resolveUrl = resolve))
  // Read every line for as long as the process lives: a full pipe would block its logging.
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    let buffered = ''
    for await (const chunk of stream) {
      buffered += decoder.decode(chunk, { stream: true })
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        if (line.includes('users-service listening')) resolveUrl(JSON.parse(line).url)
        if (/"level":(50|60)/.test(line) || (line && !line.startsWith('{'))) errorLines.push(line.slice(0, 5000))
        if (line.includes('"level":40')) warnLines.push(line.slice(0, 5000))
      }
    }
  }
  void drain(proc.stdout)
  void drain(proc.stderr)
  const url = await Promise.race([
    listening,
    proc.exited.then((code) => {
      throw new Error(`the service exited (${code}) before listening:\n${errorLines.join('\n')}`)
    }),
    Bun.sleep(30_000).then(() => {
      throw new Error('the service did not listen within 30 s')
    }),
  ])
  return {
    url: url.replace(/\/$/, ''),
    pid: proc.pid,
    errorLines,
    warnLines,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    stop: async (signal = 'SIGTERM') => {
      proc.kill(signal)
      return proc.exited
    },
  }
}

/** Resident set size of a process in MB, from /proc/<pid>/status (VmRSS). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

/** The q-quantile (0..1) of `values`, nearest rank; 0 for none. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
}

/** Polls `probe` every 50 ms until it returns true or `timeoutMs` passes; returns the ms it took, or undefined. */
export async function waitFor(probe: () => Promise<boolean>, timeoutMs: number): Promise<number | undefined> {
  const begin = performance.now()
  while (performance.now() - begin < timeoutMs) {
    if (await probe().catch(() => false)) return performance.now() - begin
    await Bun.sleep(50)
  }
  return undefined
}

/** Flags shared by the scripts: `--name value` or `--name=value`. */
export function flag(name: string): string | undefined {
  const args = process.argv.slice(2)
  const index = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (index === -1) return undefined
  const arg = args[index]!
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (args[index + 1] ?? '')
}
