import { afterAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { useTestApp } from './helpers/context'
import { useSeedDatabase } from './helpers/legacy'

const root = new URL('..', import.meta.url).pathname
const seed = await useSeedDatabase('cli')
const t = await useTestApp({ name: 'legacy_cli' })
const dir = mkdtempSync(join(tmpdir(), 'import-seed-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

await seed.db.collection('user').insertMany([
  { username: 'alice', email: 'alice@example.com', password: 'plain-text-secret', role: 'user', is_active: true },
  { username: 'Alice', email: 'alice2@example.com' },
  { username: 'bob', email: 'bob@example.com', is_active: false },
])

/** `bun run import:seed` as an operator runs it, against the test run's database. */
async function importSeed(...args: string[]) {
  return importSeedWith({}, ...args)
}

async function importSeedWith(env: Record<string, string>, ...args: string[]) {
  const proc = Bun.spawn(['bun', 'src/migration/legacy.cli.ts', ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      MONGODB_URI: globalThis.testMongoUri,
      MONGODB_DB: t.db.databaseName,
      ...env,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { stdout, stderr, code }
}

// Each case starts one or two `bun` processes: seconds on a loaded machine.
const SPAWNS = { timeout: 60_000 }

const from = `${globalThis.testMongoUri.replace(/\/?(\?.*)?$/, '')}/${seed.name}/user`

describe('bun run import:seed (the command)', () => {
  it(
    'exits 2 with the usage when --from is missing or malformed',
    async () => {
      const missing = await importSeed()
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain('--from is required')
      const malformed = await importSeed('--from', 'http://example.com/x')
      expect(malformed.code).toBe(2)
      expect(malformed.stderr).toContain('--from must look like mongodb://')
    },
    SPAWNS,
  )

  it(
    "runs in the production image's environment, where the service itself would also want auth",
    async () => {
      const run = await importSeedWith(
        { NODE_ENV: 'production' },
        '--from',
        from,
        '--dry-run',
        '--report',
        join(dir, 'prod.jsonl'),
      )
      expect(run.stderr).not.toContain('Invalid configuration')
      expect(run.code).toBe(1) // one document would be skipped
      expect(run.stdout).toMatch(/\| would be imported\s+\|\s+2 \|/)
    },
    SPAWNS,
  )

  it(
    'hashes as many passwords at once as the service would: PASSWORD_HASH_CONCURRENCY, else the cores seen, 4 at most',
    async () => {
      // An operator review: the default was every core, which in a pod is the node's (64 MiB a hash).
      const configured = await importSeedWith(
        { PASSWORD_HASH_CONCURRENCY: '3' },
        '--from',
        from,
        '--dry-run',
        '--report',
        join(dir, 'c3.jsonl'),
      )
      expect(configured.stdout).toContain('hash concurrency: 3')
      const given = await importSeedWith(
        { PASSWORD_HASH_CONCURRENCY: '3' },
        '--from',
        from,
        '--dry-run',
        '--hash-concurrency',
        '1',
        '--report',
        join(dir, 'c1.jsonl'),
      )
      expect(given.stdout).toContain('hash concurrency: 1')
    },
    SPAWNS,
  )

  it(
    '--dry-run reports, writes nothing, and exits 1 because something would be skipped',
    async () => {
      const report = join(dir, 'dry.jsonl')
      const run = await importSeed('--from', from, '--dry-run', '--report', report)
      expect(run.code).toBe(1)
      expect(run.stdout).toMatch(/\| would be imported\s+\|\s+2 \|/)
      expect(run.stdout).toMatch(/\| skipped: duplicate_username_in_source\s+\|\s+1 \|/)
      expect(run.stderr).toMatch(/dry run \[#+\] 3\/3 100% [\d,]+\/s ETA -/)
      expect(
        readFileSync(report, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).reason),
      ).toEqual(['duplicate_username_in_source'])
      expect(await t.collection.countDocuments()).toBe(0)
    },
    SPAWNS,
  )

  it(
    'imports, prints the summary, exits 1 on skips; --allow-skips and a re-run exit 0 importing nothing',
    async () => {
      const report = join(dir, 'run.jsonl')
      const run = await importSeed('--from', from, '--report', report)
      expect(run.code).toBe(1)
      expect(run.stdout).toMatch(/\| imported\s+\|\s+2 \|/)
      expect(run.stderr).toContain('1 document(s) were skipped')
      const all = run.stdout + run.stderr + readFileSync(report, 'utf8')
      expect(all).not.toContain('plain-text-secret')
      expect(await t.collection.countDocuments()).toBe(2)

      const again = await importSeed('--from', from, '--report', join(dir, 'again.jsonl'), '--allow-skips')
      expect(again.code).toBe(0)
      expect(again.stdout).toContain('(resumed from checkpoint)')
      expect(again.stdout).toMatch(/\| read\s+\|\s+0 \|/)
      expect(await t.collection.countDocuments()).toBe(2)
    },
    SPAWNS,
  )

  it(
    'exits 3 without the usage when the source does not answer: the command line was right',
    async () => {
      const run = await importSeed('--from', 'mongodb://127.0.0.1:1/flaskapp/user')
      expect(run.code).toBe(3)
      expect(run.stderr).toContain('cannot open the source:')
      expect(run.stderr).toContain('run the same command again')
      expect(run.stderr).not.toContain('usage:')
    },
    SPAWNS,
  )

  it(
    'exits 2, not the 3 of "run it again", when the source answers but refuses the credentials in --from',
    async () => {
      const run = await importSeed('--from', from.replace('mongodb://', 'mongodb://nobody:wrong@'))
      expect(run.code).toBe(2)
      expect(run.stderr).toContain('cannot open the source:')
      expect(run.stderr).not.toContain('run the same command again')
    },
    SPAWNS,
  )

  it(
    'exits 3, not the 1 of "something was skipped", when the import fails part-way, and says to re-run',
    async () => {
      const run = await importSeedWith(
        { MONGODB_URI: 'mongodb://127.0.0.1:1', DB_TIMEOUT_MS: '300' },
        '--from',
        from,
        '--report',
        join(dir, 'failed.jsonl'),
      )
      expect(run.code).toBe(3)
      expect(run.stderr).toContain('import failed:')
      expect(run.stderr).toContain('run the same command again')
    },
    SPAWNS,
  )

  it(
    'the documented command lines (docs/migration.md) keep a password in --from out of the output',
    async () => {
      // `bun run` echoes the script's command line, arguments included, unless --silent.
      const readme = ['README.md', 'docs/migration.md'].map((file) => readFileSync(join(root, file), 'utf8')).join('\n')
      const shell = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n')
      const invocations = [...shell.matchAll(/\bbun run[^\n]*?import:seed\b/g)].map((m) => m[0])
      expect(invocations.length).toBeGreaterThan(1)
      for (const invocation of new Set(invocations)) {
        const proc = Bun.spawn(
          [...invocation.split(/\s+/), '--from', 'mongodb://reader:s3cr3t-pw@127.0.0.1:1/flaskapp/user', '--help'],
          { cwd: root, env: { PATH: process.env.PATH ?? '' }, stdout: 'pipe', stderr: 'pipe' },
        )
        const [stdout, stderr, code] = await Promise.all([
          new Response(proc.stdout).text(),
          new Response(proc.stderr).text(),
          proc.exited,
        ])
        expect(code).toBe(0)
        expect(stdout).toContain('usage: bun run')
        expect(`${invocation}: ${stdout}${stderr}`).not.toContain('s3cr3t-pw')
      }
    },
    SPAWNS,
  )

  it(
    'adds to an existing --report, so a resumed run keeps the lines of the run it resumes',
    async () => {
      // The lines of a run that crashed after skipping documents: a resumed run does not read them again.
      const report = join(dir, 'kept.jsonl')
      const earlier = '{"sourceId":"6565a1f4c2b6a93d1e4f0a12","reason":"duplicate_username_in_source"}\n'
      writeFileSync(report, earlier)
      const run = await importSeed('--from', from, '--dry-run', '--restart', '--report', report)
      expect(run.code).toBe(1)
      const lines = readFileSync(report, 'utf8').trim().split('\n')
      expect(lines[0]).toBe(earlier.trim())
      expect(lines.slice(1).map((line) => JSON.parse(line).reason)).toEqual(['duplicate_username_in_source'])
    },
    SPAWNS,
  )
})
