/**
 * The contenders: how to prepare and start each one. The DB ones share one database server, each
 * with a database of its own (`databaseName`) holding the same seeded users, so no contender's
 * writes or events land in another's (the service relays only its own events); the no-DB pair
 * serves the same 200 users from memory.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CONTAINER_ENV } from './container-env'
import { root } from './lib'

export const CONTENDER_IDS = [
  'floor',
  'service',
  'service-before',
  'service-node',
  'express',
  'flask',
  'nodb-raw',
  'nodb-service',
] as const
/** Run unless --contenders says otherwise; `service-before` joins with --before <git revision>. */
export const DEFAULT_CONTENDER_IDS = CONTENDER_IDS.filter((id) => id !== 'service-before')
export type ContenderId = (typeof CONTENDER_IDS)[number]

/** The contender's own database on the shared server: `bench_<id>`, `_` for `-` (MongoDB names avoid `-`). */
export const databaseName = (id: ContenderId) => `bench_${id.replaceAll('-', '_')}`

export type ContenderSpec = {
  id: ContenderId
  label: string
  /** Which database the contender uses, and so which baseline its ratios are against. */
  group: 'db' | 'nodb'
  baseline: boolean
  /** Builds or installs what it needs (once), then returns the command that starts it. */
  prepare(): Promise<string[]>
  /** Environment of its own, on top of the run's (the service: what its container image sets). */
  env?: Record<string, string>
}

/** What the peers' setup (branch issue-6-peers, scripts/bench/peers/setup.ts) exports. */
type PeerSetup = { ensureExpressPeer(): Promise<string[]>; ensureFlaskPeer(): Promise<string[]> }

async function peerSetup(): Promise<PeerSetup> {
  const path = `${root}scripts/bench/peers/setup.ts`
  if (!existsSync(path)) {
    throw new Error(
      `The Express and Flask peers are not here yet (${path} is missing; it comes from branch issue-6-peers). ` +
        'Run with --contenders floor,service,service-node,nodb-raw,nodb-service to leave them out.',
    )
  }
  return (await import(path)) as PeerSetup
}

export const CONTENDERS: Record<ContenderId, ContenderSpec> = {
  floor: {
    id: 'floor',
    label: 'floor: Bun.serve + driver',
    group: 'db',
    baseline: true,
    // Every Bun contender runs with the image's environment (its heap budget): ratios compare code.
    env: CONTAINER_ENV,
    prepare: async () => ['bun', 'scripts/bench/floor.ts'],
  },
  service: {
    id: 'service',
    label: 'users-service on Bun',
    group: 'db',
    baseline: false,
    // What the container runs (Dockerfile CMD and ENV): the bundle of `bun run build:bun`.
    env: CONTAINER_ENV,
    prepare: async () => {
      const build = spawnSync('bun', ['run', 'build:bun'], { cwd: root, encoding: 'utf8' })
      if (build.status !== 0) throw new Error(`bun run build:bun failed:\n${build.stdout}${build.stderr}`)
      return ['bun', 'dist/bun/index.js']
    },
  },
  'service-before': {
    id: 'service-before',
    // A getter: run.ts sets the revision from --before after this module is loaded.
    get label() {
      return `users-service at ${process.env.BENCH_BEFORE_REV ?? '(--before)'}`
    },
    group: 'db',
    baseline: false,
    // The same runtime settings as the service: the two differ in code only.
    env: CONTAINER_ENV,
    prepare: async () => ['bun', `${checkoutAt(process.env.BENCH_BEFORE_REV)}/src/index.ts`],
  },
  'service-node': {
    id: 'service-node',
    label: 'users-service on Node',
    group: 'db',
    baseline: false,
    prepare: async () => {
      const build = spawnSync('bun', ['run', 'build:node'], { cwd: root, encoding: 'utf8' })
      if (build.status !== 0) throw new Error(`bun run build:node failed:\n${build.stdout}${build.stderr}`)
      return ['node', 'dist/node/node.js']
    },
  },
  express: {
    id: 'express',
    label: 'Express 5 + Mongoose (Node)',
    group: 'db',
    baseline: false,
    prepare: async () => (await peerSetup()).ensureExpressPeer(),
  },
  flask: {
    id: 'flask',
    label: 'Flask + MongoEngine (gunicorn)',
    group: 'db',
    baseline: false,
    prepare: async () => (await peerSetup()).ensureFlaskPeer(),
  },
  'nodb-raw': {
    id: 'nodb-raw',
    label: 'no DB: Bun.serve + Map',
    group: 'nodb',
    baseline: true,
    env: CONTAINER_ENV,
    prepare: async () => ['bun', 'scripts/bench/nodb-raw.ts'],
  },
  'nodb-service': {
    id: 'nodb-service',
    label: 'no DB: service (createApp, in-memory repo)',
    group: 'nodb',
    baseline: false,
    env: CONTAINER_ENV,
    prepare: async () => ['bun', 'scripts/bench/nodb-service.ts'],
  },
}

/**
 * The service as it was at a git revision, for before/after figures from one run: the revision's
 * files (git archive) with its own locked dependencies, under .cache/ (git-ignored), made once.
 */
export function checkoutAt(revision: string | undefined): string {
  if (!revision) throw new Error('service-before needs --before <git revision>')
  const run = (command: string, args: string[], cwd = root) => {
    const result = spawnSync(command, args, { cwd, encoding: 'utf8' })
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`)
    return result.stdout.trim()
  }
  const sha = run('git', ['rev-parse', '--verify', `${revision}^{commit}`])
  const dir = join(root, '.cache', 'bench-before', sha)
  if (!existsSync(join(dir, 'node_modules'))) {
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    run('sh', ['-c', `git archive ${sha} | tar -x -C '${dir}'`])
    run('bun', ['install', '--frozen-lockfile', '--production'], dir)
  }
  return dir
}
