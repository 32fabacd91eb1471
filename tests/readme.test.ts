import { afterAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectDatabase } from '../src/db/mongo'
import { fencedBlockAfter } from './helpers/markdown'
import { startServer } from './helpers/process'

/**
 * The README's curl session, run as written: the fenced block after the `readme-session` marker,
 * by bash, against the service as a real process (`bun src/index.ts`, auth off, as `bun run dev`
 * in the quick start). Each `# → <status> [<code>][, <Header>: <value>]` comment in it is one answer
 * the session must print, in order. The shell gets only the tools a bare machine has (no uuidgen,
 * no jq), and the session runs twice: it deletes what it creates.
 */
const root = new URL('..', import.meta.url).pathname
const session = fencedBlockAfter(readFileSync(join(root, 'README.md'), 'utf8'), '<!-- readme-session')
/** What the session may call besides bash's builtins: curl and POSIX tools found on every Unix. */
const TOOLS = ['curl', 'od', 'tr', 'grep', 'cut', 'head']

type Expected = { status: number; code?: string; header?: [string, string] }

function expectations(block: string): Expected[] {
  return [...block.matchAll(/→ ([^→\n]+)/g)].map((match) => {
    const parsed = /^(\d{3})(?: ([a-z_]+))?(?:, ([A-Za-z-]+): (.+))?$/.exec((match[1] as string).trim())
    if (!parsed) throw new Error(`cannot read the expected answer "→ ${match[1]}"`)
    const [, status, code, name, value] = parsed
    return { status: Number(status), ...(code ? { code } : {}), ...(name && value ? { header: [name, value] } : {}) }
  })
}

/** Splits what the session printed into answers: each starts at a status line of `curl -i`. */
function answers(output: string): { status: number; text: string }[] {
  const starts = [...output.matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)]
  return starts.map((match, i) => ({
    status: Number(match[1]),
    text: output.slice(match.index, starts[i + 1]?.index ?? output.length),
  }))
}

/** A PATH holding only TOOLS, so a command a reader's machine may lack fails here too. */
function barePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'readme-bin-'))
  for (const tool of TOOLS) {
    const found = Bun.which(tool)
    if (!found) throw new Error(`'${tool}' is not installed: the README's session needs it (apt-get install ${tool})`)
    symlinkSync(found, join(dir, tool))
  }
  return dir
}

describe("README's curl session", () => {
  const expected = expectations(session)
  const dbName = `test_readme_${crypto.randomUUID().slice(0, 8)}`
  const bin = barePath()
  const bash = Bun.which('bash')
  const server = startServer(['bun', 'src/index.ts'], { MONGODB_URI: globalThis.testMongoUri, MONGODB_DB: dbName })

  afterAll(async () => {
    const { proc } = await server
    proc.kill('SIGTERM')
    await proc.exited
    const database = await connectDatabase(globalThis.testMongoUri, dbName)
    await database.db.dropDatabase()
    await database.close()
    rmSync(bin, { recursive: true, force: true })
  })

  it('states the answers it expects', () => {
    expect(expected.length).toBeGreaterThan(15)
    expect(expected.map((e) => e.status)).toContain(412)
  })

  it.each([1, 2])(
    'run %i: prints every expected answer, in order, with no command missing',
    async () => {
      if (!bash) throw new Error('bash is not installed')
      const { url } = await server
      const run = Bun.spawnSync([bash, '-c', session], {
        env: { PATH: bin, API: url.replace(/\/$/, '') },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const stdout = run.stdout.toString()
      const stderr = run.stderr.toString()
      expect(stderr).not.toContain('command not found')
      const got = answers(stdout)
      expect(got.map((a) => a.status)).toEqual(expected.map((e) => e.status))
      for (const [i, want] of expected.entries()) {
        const answer = got[i]?.text ?? ''
        if (want.code) expect(answer).toContain(`"code":"${want.code}"`)
        if (want.header) {
          const [name, value] = want.header
          expect(answer.toLowerCase()).toContain(`\n${name.toLowerCase()}: ${value.toLowerCase()}\r\n`)
        }
      }
    },
    60_000,
  )

  it('leaves no live user behind', async () => {
    const database = await connectDatabase(globalThis.testMongoUri, dbName)
    try {
      // Deleted, not gone: a deleted user is kept USER_RETENTION_DAYS for a restore (issue 15).
      expect(await database.db.collection('users').countDocuments({ deletedAt: { $exists: false } })).toBe(0)
      expect(await database.db.collection('users').countDocuments({ deletedAt: { $exists: true } })).toBeGreaterThan(0)
      // Both runs did create users: the idempotency records of their creates remain.
      expect(await database.db.collection('idempotency_keys').countDocuments()).toBeGreaterThan(0)
    } finally {
      await database.close()
    }
  })
})
