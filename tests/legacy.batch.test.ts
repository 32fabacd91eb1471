import { describe, expect, it } from 'bun:test'
import { expectedSkips, seedBatches, seedUser } from '../scripts/seed-legacy'
import type { ImportTarget } from '../src/migration/legacy.target.repository'
import { useTestApp } from './helpers/context'
import { runImport, useSeedDatabase } from './helpers/legacy'

const seed = await useSeedDatabase('batch')

// 10,000 documents, one in 250 with a password (40 hashes, a few seconds on two cores; all 10,000
// would take minutes), with duplicates by case and invalid documents at fixed places.
const COUNT = 10_000
const OPTIONS = { passwordEvery: 250, hostile: true }
for await (const batch of seedBatches(COUNT, OPTIONS)) await seed.db.collection('big').insertMany(batch)

// One target database per scenario; a 10,000-user import takes 5-60 s on the embedded database.
const big = await useTestApp({ name: 'legacy_batch' })
const crash = await useTestApp({ name: 'legacy_crash' })
const dryRun = await useTestApp({ name: 'legacy_dry' })
// Generous: a loaded machine (other processes on two cores) makes this minute-long, never wrong.
const SLOW = { timeout: 300_000 }

describe('import of a 10,000-document seed', () => {
  it(
    'imports every valid document once and skips exactly the hostile ones',
    async () => {
      const { db, collection } = big
      const { summary, report } = await runImport(seed.db, db, { collection: 'big' })
      const skips = expectedSkips(COUNT)
      expect(skips).toEqual({ duplicate_username_in_source: 10, invalid_document: 10 })
      expect(summary).toMatchObject({
        read: COUNT,
        imported: COUNT - 20,
        withPassword: 40,
        alreadyImported: 0,
        skipped: { ...skips, duplicate_email_in_source: 0, username_taken: 0, email_taken: 0 },
      })
      expect(report).toHaveLength(20)
      // Each duplicate names the document it duplicates: the one just before it.
      for (const entry of report.filter((e) => e.reason === 'duplicate_username_in_source')) {
        const i = Number.parseInt(entry.sourceId.slice(8), 16)
        expect(entry.otherId).toBe(String(seedUser(i - 1, OPTIONS)._id))
      }
      expect(await collection.countDocuments()).toBe(COUNT - 20)
      expect(await collection.countDocuments({ passwordHash: { $exists: true } })).toBe(40)
      // is_active false for i % 10 === 7; none of those is among the skipped ones.
      expect(await collection.countDocuments({ status: 'disabled' })).toBe(1000)
    },
    SLOW,
  )

  it(
    'a second run reads nothing and imports nothing',
    async () => {
      const { db, collection } = big
      const again = await runImport(seed.db, db, { collection: 'big' })
      expect(again.summary).toMatchObject({ read: 0, imported: 0, alreadyImported: 0, resumed: true })
      expect(await collection.countDocuments()).toBe(COUNT - 20)
    },
    SLOW,
  )
})

describe('a crash in the middle', () => {
  it(
    'resumes from the checkpoint and imports each user exactly once',
    async () => {
      const { db, collection } = crash
      const source = 'crash'
      for await (const batch of seedBatches(1000, { passwordEvery: 1000, hostile: false })) {
        await seed.db.collection(source).insertMany(batch)
      }
      // The third batch is written, then the process "dies" before its checkpoint is saved.
      let inserts = 0
      const crashing = (target: ImportTarget): ImportTarget => ({
        ...target,
        async insert(candidates) {
          const outcomes = await target.insert(candidates)
          if (++inserts === 3) throw new Error('simulated crash')
          return outcomes
        },
      })
      await expect(runImport(seed.db, db, { collection: source, batchSize: 100, wrapTarget: crashing })).rejects.toThrow(
        'simulated crash',
      )
      expect(await collection.countDocuments()).toBe(300)
      const resumed = await runImport(seed.db, db, { collection: source, batchSize: 100 })
      // Batches 1-2 are behind the checkpoint; batch 3 is read again and recognised.
      expect(resumed.summary).toMatchObject({ resumed: true, read: 800, imported: 700, alreadyImported: 100 })
      expect(resumed.report).toEqual([])
      expect(await collection.countDocuments()).toBe(1000)
    },
    SLOW,
  )
})

describe('--dry-run', () => {
  it(
    'says what would happen and writes nothing but the report',
    async () => {
      const { db, collection, createUser } = dryRun
      const taken = await createUser({ username: 'User3', email: 'someone@example.com' })
      const source = 'dry'
      for await (const batch of seedBatches(2000, { passwordEvery: 1, hostile: true }))
        await seed.db.collection(source).insertMany(batch)
      const dry = await runImport(seed.db, db, { collection: source, dryRun: true })
      expect(dry.summary).toMatchObject({
        dryRun: true,
        read: 2000,
        imported: 1995,
        skipped: { duplicate_username_in_source: 2, invalid_document: 2, username_taken: 1 },
      })
      expect(dry.report.find((e) => e.reason === 'username_taken')).toEqual({
        sourceId: String(seedUser(3, { passwordEvery: 1, hostile: true })._id),
        reason: 'username_taken',
        otherId: taken.id,
      })
      expect(await collection.countDocuments()).toBe(1)
      expect(await db.collection('legacy_import_checkpoints').countDocuments()).toBe(0)
    },
    SLOW,
  )
})
