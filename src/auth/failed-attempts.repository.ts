import type { Db } from 'mongodb'
import { database, isDuplicateKeyError } from '../db/errors'
import { ensureExpiry, sweepExpired } from '../db/expiry'
import type { FailedAttempts } from './failed-attempts'

/** MongoDB implementation of FailedAttempts: one document per key, `_id` being the key. */
type FailureDocument = { _id: string; count: number; expiresAt: Date }

export function createFailedAttempts(db: Db, options: { windowSeconds: number; clock?: () => Date }): FailedAttempts {
  const failures = db.collection<FailureDocument>('auth_failures')
  const now = options.clock ?? (() => new Date())

  async function recordOne(key: string) {
    const at = now()
    for (let attempt = 0; attempt < 3; attempt++) {
      // An expired window is dropped first, so the upsert below starts a fresh one.
      await database(() => failures.deleteOne({ _id: key, expiresAt: { $lte: at } }))
      try {
        await database(() =>
          failures.updateOne(
            { _id: key },
            { $inc: { count: 1 }, $setOnInsert: { expiresAt: new Date(at.getTime() + options.windowSeconds * 1000) } },
            { upsert: true },
          ),
        )
        return
      } catch (error) {
        // Two first failures at once: one upsert inserted, the other retries as an update.
        if (!isDuplicateKeyError(error)) throw error
      }
    }
  }

  return {
    ensureIndexes: () => ensureExpiry(failures),
    async blockedFor(limits) {
      const at = now()
      const docs = await database(() =>
        failures.find({ _id: { $in: limits.map((l) => l.key) }, expiresAt: { $gt: at } }).toArray(),
      )
      let wait = 0
      for (const doc of docs) {
        const limit = limits.find((l) => l.key === doc._id)?.limit ?? Number.POSITIVE_INFINITY
        if (doc.count >= limit) wait = Math.max(wait, Math.ceil((doc.expiresAt.getTime() - at.getTime()) / 1000))
      }
      return wait
    },
    async recordFailure(keys) {
      for (const key of keys) await recordOne(key)
    },
    reset: async (key) => void (await database(() => failures.deleteOne({ _id: key }))),
    sweep: () => database(() => sweepExpired(failures, now())),
  }
}
