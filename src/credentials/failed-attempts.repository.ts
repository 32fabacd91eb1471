import type { DatabaseHandle } from '../db/calls'
import { isDuplicateKeyError } from '../db/errors'
import { ensureExpiry, sweepExpired } from '../db/expiry'
import type { FailedAttempts } from './failed-attempts'

/** MongoDB implementation of FailedAttempts: one document per key, `_id` being the key. */
type AttemptsDocument = { _id: string; count: number; expiresAt: Date }

export function createFailedAttempts(
  database: DatabaseHandle,
  options: { windowSeconds: number; clock?: () => Date },
): FailedAttempts {
  const attempts = database.db.collection<AttemptsDocument>('auth_failures')
  const now = options.clock ?? (() => new Date())

  /** One atomic increment; the count after it decides. */
  async function takeOne(key: string, limit: number): Promise<number> {
    const at = now()
    for (let attempt = 0; attempt < 3; attempt++) {
      // An expired window is dropped first, so the upsert below starts a fresh one.
      await database.call((limit) => attempts.deleteOne({ _id: key, expiresAt: { $lte: at } }, limit))
      try {
        const doc = await database.call((limit) =>
          attempts.findOneAndUpdate(
            { _id: key },
            { $inc: { count: 1 }, $setOnInsert: { expiresAt: new Date(at.getTime() + options.windowSeconds * 1000) } },
            { ...limit, upsert: true, returnDocument: 'after' },
          ),
        )
        if (!doc || doc.count <= limit) return 0
        return Math.max(1, Math.ceil((doc.expiresAt.getTime() - at.getTime()) / 1000))
      } catch (error) {
        // Two first attempts at once: one upsert inserted, the other goes round again as an update.
        if (!isDuplicateKeyError(error)) throw error
      }
    }
    return 0
  }

  return {
    ensureIndexes: () => ensureExpiry(attempts),
    async take(limits) {
      const waits = await Promise.all(limits.map(({ key, limit }) => takeOne(key, limit)))
      return Math.max(0, ...waits)
    },
    async reset(key) {
      await database.call((limit) => attempts.deleteOne({ _id: key }, limit))
    },
    async refund(key) {
      await database.call((limit) => attempts.updateOne({ _id: key, count: { $gt: 0 } }, { $inc: { count: -1 } }, limit))
    },
    sweep: () => database.call((limit) => sweepExpired(attempts, now(), limit)),
    async forgetSubjects({ userId, logins }) {
      // The keys verify.ts counts under: `user:<id>` for a login that named the user, and
      // `login:<login in lower case>` for one that named nobody (say, while the user was deleted).
      const keys = [`user:${userId}`, ...logins.map((login) => `login:${login.toLowerCase()}`)]
      await database.call((limit) => attempts.deleteMany({ _id: { $in: keys } }, limit))
    },
  }
}
