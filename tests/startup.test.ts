import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MongoClient, MongoServerError } from 'mongodb'
import pkg from '../package.json' with { type: 'json' }
import { uriHosts } from '../src/config.env'
import { startupFailureLine } from '../src/startup'
import { buildNodeBundle, startServer } from './helpers/process'

/**
 * Issue 14's runtime paper cuts, on the real processes (`bun src/index.ts`, `node dist/node/node.js`):
 * the version in the startup line, a busy port refused with one line before any database starts,
 * `.env` read on Node as on Bun, and one line (no source frame, no stack) for a failed start.
 */
const root = new URL('..', import.meta.url).pathname
const dbName = `test_startup_${crypto.randomUUID().slice(0, 8)}`
const dirs: string[] = []
const procs: { kill(signal?: NodeJS.Signals): void; exited: Promise<number> }[] = []

beforeAll(() => {
  buildNodeBundle()
}, 60_000)

afterAll(async () => {
  for (const proc of procs) {
    proc.kill('SIGKILL')
    await proc.exited
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  const client = new MongoClient(globalThis.testMongoUri)
  await client.db(dbName).dropDatabase()
  await client.close()
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'startup-'))
  dirs.push(dir)
  return dir
}

/**
 * The test database's URI with credentials and an option in it: the embedded FerretDB accepts any
 * user with PLAIN. On a real MongoDB (MONGODB_URI set) its own URI, whatever it holds.
 */
const URI_WITH_CREDENTIALS =
  process.env.MONGODB_URI ?? `${globalThis.testMongoUri.replace('mongodb://', 'mongodb://alice:s3cret-pw@')}?authMechanism=PLAIN`
/** What of the URI must never reach a log: the user, the password, the query string. */
const CREDENTIALS_AND_OPTIONS = [
  ...(/^[a-z+]+:\/\/([^@/?]*)@/.exec(URI_WITH_CREDENTIALS)?.[1]?.split(':') ?? []),
  URI_WITH_CREDENTIALS.split('?')[1],
].filter((part): part is string => Boolean(part))

const ENTRIES = [
  ['Bun', ['bun', join(root, 'src/index.ts')]],
  ['Node', ['node', join(root, 'dist/node/node.js')]],
] as const

/** Runs an entry point to its exit (20 s at most); its exit code and output. */
async function runToExit(command: readonly string[], env: Record<string, string>, cwd = root) {
  const proc = Bun.spawn([...command], {
    cwd,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_FORMAT: 'json', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  procs.push(proc)
  const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
  const code = await proc.exited
  clearTimeout(killer)
  return { code, stdout: await new Response(proc.stdout).text(), stderr: (await new Response(proc.stderr).text()).trim() }
}

describe.each(ENTRIES)('starting on %s', (_, command) => {
  it('names the version and the runtime in its listening line', async () => {
    const server = await startServer([...command], { MONGODB_URI: globalThis.testMongoUri, MONGODB_DB: dbName })
    procs.push(server.proc)
    expect(server.listening).toMatchObject({ version: pkg.version, runtime: expect.stringMatching(/^(bun|node) \d+\.\d+\.\d+$/) })
  })

  it('says what is in effect in its listening line, never the credentials or options of MONGODB_URI', async () => {
    const server = await startServer([...command], {
      MONGODB_URI: URI_WITH_CREDENTIALS,
      MONGODB_DB: dbName,
      SHUTDOWN_TIMEOUT: 'typo-value',
    })
    procs.push(server.proc)
    expect(server.listening).toMatchObject({
      env: 'test',
      auth: { apiKeys: 0, jwt: 'none' },
      metrics: 'public',
      database: { name: dbName, hosts: uriHosts(URI_WITH_CREDENTIALS) },
    })
    const output = server.logs.join('')
    for (const secret of CREDENTIALS_AND_OPTIONS) expect(output).not.toContain(secret)
    // A mistyped variable: one warning, by name, with the name meant, without its value.
    const warnings = output.split('\n').filter((line) => line.includes('SHUTDOWN_TIMEOUT (did you mean SHUTDOWN_TIMEOUT_MS?)'))
    expect(warnings).toHaveLength(1)
    expect(output).not.toContain('typo-value')
  }, 30_000)

  it('refuses a busy port with one line, before starting an embedded database', async () => {
    const first = await startServer([...command], { MONGODB_URI: globalThis.testMongoUri, MONGODB_DB: dbName })
    procs.push(first.proc)
    const port = new URL(first.url).port
    const dataDir = tempDir()
    const second = await runToExit(command, { PORT: port, DEVDB_DATA_DIR: dataDir })
    expect(second.code).toBe(1)
    expect(second.stderr.split('\n')).toEqual([
      `users-service: cannot start: port ${port} on 127.0.0.1 is in use (another users-service?): stop it, or set PORT to another port`,
    ])
    // No launcher ever ran on the data folder: no log, no lock.
    expect(readdirSync(dataDir)).toEqual([])
    expect(second.stdout).not.toContain('embedded FerretDB')
  }, 30_000)

  it('prints one line, no source frame or stack, when the database cannot be reached', async () => {
    const failed = await runToExit(command, {
      PORT: '0',
      MONGODB_URI: 'mongodb://127.0.0.1:1/?directConnection=true',
      DB_TIMEOUT_MS: '300',
    })
    expect(failed.code).toBe(1)
    expect(failed.stderr.split('\n')).toHaveLength(1)
    expect(failed.stderr).toStartWith('users-service: cannot start: ')
    expect(failed.stderr).not.toMatch(/\s+at\s|\^/)
  }, 30_000)

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    'exits at once with 128 + the signal on %s while still starting (a database that does not answer)',
    async (signal, status) => {
      const proc = Bun.spawn([...command], {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          LOG_FORMAT: 'json',
          PORT: '0',
          // Nothing listens on port 1: the driver keeps looking for a server for DB_TIMEOUT_MS (a minute).
          MONGODB_URI: 'mongodb://127.0.0.1:1/?directConnection=true',
          DB_TIMEOUT_MS: '60000',
          // At least a call's deadline (2 × DB_TIMEOUT_MS + 1 s), as config requires.
          HTTP_IDLE_TIMEOUT_SECONDS: '121',
          // Named in the warning logged after the signal handlers are in place: the moment to signal.
          LOG_STARTUP_MARKER: '1',
        },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      procs.push(proc)
      // Past the modules' loading and into the minute of waiting: the startup's warning is out.
      await untilOutputHas(proc.stdout, 'LOG_STARTUP_MARKER', 10_000)
      const signalled = performance.now()
      proc.kill(signal)
      await proc.exited
      expect(performance.now() - signalled).toBeLessThan(1000)
      // Exited by itself with the status, not ended by the signal (which PID 1 in a container would drop).
      expect({ exitCode: proc.exitCode, signalCode: proc.signalCode }).toEqual({ exitCode: status, signalCode: null })
      expect((await new Response(proc.stderr).text()).trim()).toBe(`users-service: ${signal} while starting: exiting`)
    },
    10_000,
  )

  it('reads .env files from its working directory, as Bun does, the environment first', async () => {
    const cwd = tempDir()
    // .env says PORT=1 (privileged: startup would fail) but the environment's PORT=0 wins;
    // METRICS_PORT from .env.test shows that file was read; .env.local is not read under NODE_ENV=test.
    writeFileSync(join(cwd, '.env'), 'PORT=1\nMETRICS_PORT=1\nLEGACY_ROUTES=false\n')
    writeFileSync(join(cwd, '.env.test'), 'METRICS_PORT=0\n')
    writeFileSync(join(cwd, '.env.local'), 'LEGACY_ROUTES=true\n')
    const proc = Bun.spawn([...command], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_FORMAT: 'json',
        PORT: '0',
        MONGODB_URI: globalThis.testMongoUri,
        MONGODB_DB: dbName,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    procs.push(proc)
    const line = await firstListeningLine(proc.stdout)
    expect(line.metricsUrl).toStartWith('http://127.0.0.1:')
    expect(new URL(line.url).port).not.toBe('1')
    expect((await fetch(`${line.url}read`)).status).toBe(404)
    expect(existsSync(join(cwd, '.env'))).toBe(true)
  }, 30_000)
})

/** The listening line of a process started outside startServer (another working directory). */
async function firstListeningLine(stdout: ReadableStream<Uint8Array>): Promise<{ url: string; metricsUrl?: string }> {
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of stdout) {
    text += decoder.decode(chunk, { stream: true })
    const line = text.split('\n').find((l) => l.includes('users-service listening'))
    if (line) return JSON.parse(line)
  }
  throw new Error(`the server exited before listening:\n${text}`)
}

describe('the startup failure line', () => {
  it("names the index a database cannot build, and not the duplicated value MongoDB's message carries", () => {
    const error = new MongoServerError({
      code: 11000,
      codeName: 'DuplicateKey',
      errmsg:
        'Index build failed: 4e1f…: Collection app.users ( 1a2b… ) :: caused by :: E11000 duplicate key error collection: app.users index: emailKey_unique dup key: { emailKey: "twice@example.com" }',
    })
    const line = startupFailureLine(error)
    expect(line).toStartWith('users-service: cannot start: Index build failed')
    expect(line).toContain('index: emailKey_unique dup key: { [redacted] }')
    expect(line).not.toContain('twice@example.com')
  })
})

/** Reads `stream` until `text` appears in it (throws after `timeoutMs`); the rest is left unread. */
async function untilOutputHas(stream: ReadableStream<Uint8Array>, text: string, timeoutMs: number): Promise<void> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  const deadline = performance.now() + timeoutMs
  let seen = ''
  try {
    while (!seen.includes(text)) {
      const left = deadline - performance.now()
      const next = await Promise.race([reader.read(), Bun.sleep(Math.max(0, left)).then(() => 'timeout' as const)])
      if (next === 'timeout' || next.done) throw new Error(`no "${text}" in the output: ${seen}`)
      seen += decoder.decode(next.value, { stream: true })
    }
  } finally {
    reader.releaseLock()
  }
}
