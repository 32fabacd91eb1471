/**
 * Throughput of `bun run import:seed` (figures for the README and the closing note):
 *   bun scripts/bench/import.ts [--count 100000] [--password-every 100]
 * Starts its own embedded database in a temporary directory, fills a seed collection with
 * scripts/seed-legacy.ts's documents, runs the real command into an empty target and prints its
 * summary. FerretDB's SQLite backend is far slower than MongoDB at writes, so these figures are a floor.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { MongoClient } from 'mongodb'
import { startEmbeddedDatabase } from '../../src/db/embedded'
import { seedBatches } from '../seed-legacy'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    'password-every': { type: 'string', default: '1000000000' },
    'batch-size': { type: 'string', default: '500' },
  },
})
const count = Number(values.count)
const dir = mkdtempSync(join(tmpdir(), 'bench-import-'))
const db = await startEmbeddedDatabase({ dataDir: dir, onProgress: (m) => console.error(m) })
try {
  const client = await new MongoClient(db.uri).connect()
  const started = performance.now()
  for await (const batch of seedBatches(count, { passwordEvery: Number(values['password-every']), hostile: false })) {
    await client.db('seed').collection('user').insertMany(batch)
  }
  console.error(`seeded ${count} documents in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  await client.close()
  const base = db.uri.replace(/\/?(\?.*)?$/, '')
  const proc = Bun.spawn(
    [
      'bun',
      'src/migration/legacy.cli.ts',
      '--from',
      `${base}/seed/user`,
      '--report',
      join(dir, 'report.jsonl'),
      '--batch-size',
      values['batch-size'],
    ],
    {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, NODE_ENV: 'test', MONGODB_URI: db.uri, MONGODB_DB: 'target' },
      stdout: 'inherit',
      stderr: 'inherit',
    },
  )
  const code = await proc.exited
  if (code !== 0) process.exitCode = code
} finally {
  await db.stop()
  rmSync(dir, { recursive: true, force: true })
}
