import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureLauncher as buildLauncher } from './launcher-build'

/**
 * The embedded database for development and tests: FerretDB (MongoDB wire protocol, SQLite
 * storage) through the Go launcher in tools/devdb. The launcher is built on demand into
 * .cache/devdb, keyed by a hash of its sources, and reused until they change.
 */
export type EmbeddedDatabase = {
  uri: string
  /** The launcher's process id. */
  pid: number
  /** Stops the database and waits for it to exit. */
  stop(): Promise<void>
}

/**
 * Another launcher holds the data folder (its flock on devdb.lock, tools/devdb): two on one folder
 * lose acknowledged writes (issue 13). The message is one line naming the folder and the PID.
 */
export class DataDirInUseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DataDirInUseError'
  }
}

/** The launcher's exit status when the data folder is in use (tools/devdb/main.go). */
const EXIT_DATA_DIR_IN_USE = 3

/**
 * The checkout this module runs from: the nearest folder above it holding tools/devdb. Found by
 * walking up rather than by a fixed `../..`, so the bundled Node entry (dist/node) finds it too.
 */
function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'tools', 'devdb', 'go.mod'))) {
    const parent = dirname(dir)
    if (parent === dir)
      throw new Error('The embedded database needs a checkout of users-service (tools/devdb); set MONGODB_URI instead.')
    dir = parent
  }
  return dir
}

export async function startEmbeddedDatabase(options: {
  dataDir: string
  /** Progress messages for a human (the first build takes about a minute). */
  onProgress?: (message: string) => void
  /** Port to listen on; a free one by default. Restarting on the same port lets clients reconnect. */
  port?: number
  /** Extra launcher flags; only the launcher's own test uses this (`-no-write-lock`). */
  launcherArgs?: string[]
}): Promise<EmbeddedDatabase> {
  const projectRoot = findProjectRoot()
  const binary = await ensureLauncher(options.onProgress)
  const dataDir = isAbsolute(options.dataDir) ? options.dataDir : resolve(projectRoot, options.dataDir)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // The launcher's own log goes to a file, never to our stdout/stderr: a child holding the
  // parent's output pipe would keep CI waiting after the parent is done.
  const logPath = join(dataDir, 'devdb.log')
  const logFd = openSync(logPath, 'a')
  // stdin is a pipe we never write to and never close: when this process dies, however hard, the
  // pipe closes and the launcher exits (-watch-stdin). Linux also has PR_SET_PDEATHSIG; this works
  // everywhere.
  const child = spawn(
    binary,
    ['-listen', `127.0.0.1:${options.port ?? 0}`, '-data', dataDir, '-watch-stdin', ...(options.launcherArgs ?? [])],
    {
      stdio: ['pipe', 'pipe', logFd],
    },
  )
  closeSync(logFd)
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  try {
    const uri = await firstLine(child, 15_000)
    child.stdout?.destroy()
    return { uri, pid: child.pid ?? 0, stop: () => stop(child, exited) }
  } catch (error) {
    child.kill('SIGKILL')
    const log = existsSync(logPath) ? readFileSync(logPath, 'utf8').trimEnd().split('\n') : []
    if (child.exitCode === EXIT_DATA_DIR_IN_USE) {
      const refusal = log.findLast((line) => line.startsWith('devdb: the data folder'))
      throw new DataDirInUseError(refusal?.replace(/^devdb: /, '') ?? `the data folder ${dataDir} is in use by another launcher`)
    }
    throw new Error(`The embedded database did not start: ${(error as Error).message}\n${log.slice(-20).join('\n')}`)
  }
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timeout = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timeout)
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let buffered = ''
    const timer = setTimeout(() => reject(new Error(`no address within ${timeoutMs} ms`)), timeoutMs)
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const newline = buffered.indexOf('\n')
      if (newline === -1) return
      clearTimeout(timer)
      resolveLine(buffered.slice(0, newline).trim())
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`the launcher exited (${signal ?? `code ${code}`})`))
    })
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

/** Returns the launcher binary for the current sources, building it with Go when missing. */
export function ensureLauncher(onProgress: (message: string) => void = () => {}): Promise<string> {
  return buildLauncher(onProgress, { projectRoot: findProjectRoot() })
}
