/**
 * Property-based API testing with Schemathesis: `bun run reliability:schemathesis [-- <st run options>]`.
 *
 * Starts the embedded database and the service as a real process in its production configuration
 * (auth on, with one static API key holding every scope so every operation is reachable), then runs
 * Schemathesis against the committed openapi.json: every operation, every check, every phase
 * (examples, coverage, fuzzing, and stateful chains through the document's links). Prints the
 * cases per phase and exits non-zero on any failure, on any error logged by the service, or if
 * the service stopped answering. Schemathesis comes from PyPI into a cached virtualenv, as .ci/run
 * does for hadolint. SCHEMATHESIS_MAX_EXAMPLES (default 100) sets the cases per operation and phase.
 */
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedDatabase } from '../../src/db/embedded'
import { freePort, startServer } from '../../tests/helpers/process'

const VERSION = '4.32.5'
const root = new URL('../..', import.meta.url).pathname
const maxExamples = process.env.SCHEMATHESIS_MAX_EXAMPLES ?? '100'
/** The issue asks for at least this many generated cases per run. */
const MIN_CASES = 1000

/** The `st` executable, installing Schemathesis into its cached virtualenv on first use. */
function ensureSchemathesis(): string {
  const venv = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'users-service', `schemathesis-${VERSION}`)
  // Written last, so an interrupted install is redone rather than half-used.
  const marker = join(venv, '.installed')
  if (!existsSync(marker)) {
    console.error(`Installing schemathesis ${VERSION} from PyPI into ${venv}...`)
    for (const [command, ...args] of [
      ['python3', '-m', 'venv', venv],
      [join(venv, 'bin', 'pip'), 'install', '--quiet', `schemathesis==${VERSION}`],
    ]) {
      if (spawnSync(command!, args, { stdio: 'inherit' }).status !== 0) throw new Error(`${command} ${args.join(' ')} failed`)
    }
    writeFileSync(marker, `${VERSION}\n`)
  }
  return join(venv, 'bin', 'st')
}

type PhaseCounts = { cases: number; requests: number; statuses: Map<number, number> }

/** Cases, requests and response statuses per phase, from Schemathesis's NDJSON event stream. */
function countByPhase(ndjsonPath: string): Map<string, PhaseCounts> {
  const phases = new Map<string, PhaseCounts>()
  for (const line of readFileSync(ndjsonPath, 'utf8').split('\n')) {
    if (!line.startsWith('{"ScenarioFinished"')) continue
    const { phase, recorder } = JSON.parse(line).ScenarioFinished as {
      phase: string
      recorder?: { cases?: object; interactions?: Record<string, { response?: { status_code: number } | null }> }
    }
    const counts = phases.get(phase) ?? { cases: 0, requests: 0, statuses: new Map() }
    counts.cases += Object.keys(recorder?.cases ?? {}).length
    for (const { response } of Object.values(recorder?.interactions ?? {})) {
      counts.requests++
      if (response) counts.statuses.set(response.status_code, (counts.statuses.get(response.status_code) ?? 0) + 1)
    }
    phases.set(phase, counts)
  }
  return phases
}

const st = ensureSchemathesis()
const work = mkdtempSync(join(tmpdir(), 'schemathesis-'))
const reportDir = join(work, 'report')
const db = await startEmbeddedDatabase({ dataDir: join(work, 'db'), onProgress: (m) => console.error(m) })
const apiKey = `usk_${randomBytes(32).toString('base64url')}`
const failures: string[] = []
let checks = 0
/** One of the run's checks: counted for the summary, its message kept when it fails. */
function check(ok: boolean, failure: string): void {
  checks++
  if (!ok) failures.push(failure)
}
const started = performance.now()
try {
  const server = await startServer(['bun', 'src/index.ts'], {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    // Production refuses port 0 (a random port).
    PORT: String(await freePort()),
    MONGODB_URI: db.uri,
    MONGODB_DB: 'schemathesis',
    // Every documented operation is live, the compatibility routes included.
    LEGACY_ROUTES: 'true',
    // Production refuses public /metrics without this opt-in (issue 13); the run scrapes nothing sensitive.
    METRICS_PUBLIC: 'true',
    AUTH_API_KEYS: JSON.stringify([
      {
        name: 'schemathesis',
        sha256: createHash('sha256').update(apiKey).digest('hex'),
        scopes: ['users:read', 'users:write', 'users:admin', 'scim', 'events:read', 'webhooks:manage'],
      },
    ]),
  })
  try {
    const run = Bun.spawn(
      [
        st,
        '--config-file',
        join(root, 'scripts/reliability/schemathesis.toml'),
        'run',
        join(root, 'openapi.json'),
        '--url',
        server.url.replace(/\/$/, ''),
        '--checks',
        'all',
        '--phases',
        'examples,coverage,fuzzing,stateful',
        '--max-examples',
        maxExamples,
        '--header',
        `Authorization: Bearer ${apiKey}`,
        '--report',
        'ndjson',
        '--report-dir',
        reportDir,
        '--no-color',
        ...process.argv.slice(2),
      ],
      {
        stdout: 'inherit',
        stderr: 'inherit',
        cwd: work,
        // The data-dependent rules no schema can state (schemathesis_hooks.py says which).
        env: { ...process.env, SCHEMATHESIS_HOOKS: 'schemathesis_hooks', PYTHONPATH: join(root, 'scripts/reliability') },
      },
    )
    check((await run.exited) === 0, 'Schemathesis reported failures (see above)')
    // The process must still answer, and must have logged no unexpected error, whatever it was sent.
    const health = await fetch(`${server.url.replace(/\/$/, '')}/healthz`).catch(() => undefined)
    check(health?.status === 200, 'the service no longer answers /healthz')
    const errors = server.logs
      .join('')
      .split('\n')
      .filter((line) => line.includes('"unhandled error"'))
    check(errors.length === 0, `the service logged ${errors.length} unhandled errors:\n${errors.slice(0, 5).join('\n')}`)
  } finally {
    server.proc.kill('SIGTERM')
    await server.proc.exited
  }

  const ndjson = readdirSync(reportDir).find((name) => name.endsWith('.ndjson'))
  if (!ndjson) throw new Error('Schemathesis wrote no NDJSON report')
  const phases = countByPhase(join(reportDir, ndjson))
  let total = 0
  console.log('\ncases per phase (requests sent; response statuses)')
  for (const [phase, counts] of phases) {
    total += counts.cases
    const statuses = [...counts.statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`)
    console.log(
      `  ${phase.padEnd(9)} ${String(counts.cases).padStart(6)} cases (${counts.requests} requests; ${statuses.join(' ')})`,
    )
  }
  console.log(`  ${'total'.padEnd(9)} ${String(total).padStart(6)} cases`)
  check(total >= MIN_CASES, `only ${total} cases were generated; at least ${MIN_CASES} are required`)
} finally {
  await db.stop()
  rmSync(work, { recursive: true, force: true })
}
console.log(`schemathesis run: ${((performance.now() - started) / 1000).toFixed(1)} s`)
// The line run.ts collects for its summary (the same shape as lib.ts's createReport).
console.log(`RELIABILITY-SUMMARY ${JSON.stringify({ name: 'schemathesis', checks, failures, figures: {} })}`)
if (failures.length > 0) {
  console.error(`\nFAILED:\n- ${failures.join('\n- ')}`)
  process.exit(1)
}
console.log('OK: no failures, no unhandled errors, the service still answers.')
