/**
 * The contenders: how to prepare and start each one. The DB ones share one database and its
 * seeded users; the no-DB pair serves the same 200 users from memory.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { root } from './lib'

export const CONTENDER_IDS = ['floor', 'service', 'service-node', 'express', 'flask', 'nodb-raw', 'nodb-service'] as const
export type ContenderId = (typeof CONTENDER_IDS)[number]

export type ContenderSpec = {
  id: ContenderId
  label: string
  /** Which database the contender uses, and so which baseline its ratios are against. */
  group: 'db' | 'nodb'
  baseline: boolean
  /** Builds or installs what it needs (once), then returns the command that starts it. */
  prepare(): Promise<string[]>
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
    prepare: async () => ['bun', 'scripts/bench/floor.ts'],
  },
  service: {
    id: 'service',
    label: 'users-service on Bun',
    group: 'db',
    baseline: false,
    prepare: async () => ['bun', 'src/index.ts'],
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
    prepare: async () => ['bun', 'scripts/bench/nodb-raw.ts'],
  },
  'nodb-service': {
    id: 'nodb-service',
    label: 'no DB: service (createApp, in-memory repo)',
    group: 'nodb',
    baseline: false,
    prepare: async () => ['bun', 'scripts/bench/nodb-service.ts'],
  },
}
