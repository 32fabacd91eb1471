import { afterAll } from 'bun:test'
import type { Db, Document } from 'mongodb'
import { attachDatabase } from '../../src/db/calls'
import { connectDatabase } from '../../src/db/mongo'
import { type ImportDeps, type ImportOptions, importLegacyUsers, type ReportEntry } from '../../src/migration/legacy.import'
import { legacySourceOn } from '../../src/migration/legacy.source.repository'
import { createImportTarget, type ImportTarget } from '../../src/migration/legacy.target.repository'
import { createStores } from '../../src/stores'
import { createBunPasswordHasher } from '../../src/users/passwords.bun'
import { createUsersService } from '../../src/users/users.service'

/**
 * A seed-shaped database (the Flask service's `user` collection) on the run's embedded server,
 * dropped after the test file, and a way to run the import from it into a test app's database.
 */
export async function useSeedDatabase(name: string) {
  const database = await connectDatabase(globalThis.testMongoUri, `seed_${name}_${crypto.randomUUID().slice(0, 8)}`)
  afterAll(async () => {
    await database.db.dropDatabase()
    await database.close()
  })
  return { db: database.db, name: database.db.databaseName }
}

export const DEFAULT_OPTIONS: ImportOptions = { dryRun: false, restart: false, batchSize: 500, hashConcurrency: 2 }

/** Runs the import of `seed.<collection>` into `target`, collecting the report and the progress output. */
export async function runImport(
  seed: Db,
  target: Db,
  options: Partial<ImportOptions> & { collection?: string; wrapTarget?: (t: ImportTarget) => ImportTarget } = {},
) {
  const report: ReportEntry[] = []
  const progress: string[] = []
  const hasher = createBunPasswordHasher()
  let hashes = 0
  const collection = options.collection ?? 'user'
  // The users service on the target, as the import CLI builds it, with a hasher that counts.
  const database = attachDatabase(target)
  const { users } = createStores(database, { failureWindowSeconds: 900 })
  const passwords = {
    ...hasher,
    hash: (password: string) => {
      hashes++
      return hasher.hash(password)
    },
  }
  const importTarget = createImportTarget(createUsersService({ users, passwords }), database)
  const deps: ImportDeps = {
    source: legacySourceOn(seed.collection<Document>(collection), `test/${seed.databaseName}/${collection}`),
    target: options.wrapTarget ? options.wrapTarget(importTarget) : importTarget,
    report: async (entries) => void report.push(...entries),
    progress: { write: (text: string) => void progress.push(text) },
  }
  const summary = await importLegacyUsers(deps, { ...DEFAULT_OPTIONS, ...options })
  return { summary, report, progress: progress.join(''), hashes }
}
