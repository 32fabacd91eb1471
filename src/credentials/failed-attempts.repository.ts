import type { Collection } from 'mongodb'
import type { DatabaseHandle } from '../db/calls'
import { isDuplicateKeyError } from '../db/errors'
import { ensureExpiry, sweepExpired } from '../db/expiry'
import { ensureIndexes } from '../db/indexes'
import { UnavailableError } from '../errors'
import type { Counter, FailedAttempts, LimitKind } from './failed-attempts'
import { type CounterDigests, counterDigests } from './failed-attempts.digests'

/**
 * MongoDB implementation of FailedAttempts: one document per counter, `_id` its digest; login
 * counters also carry their subject's digest, so an erasure deletes them with one indexed query.
 */
type AttemptsDocument = { _id: string; kind: LimitKind; subject?: string; count: number; expiresAt: Date }

type Store = {
  database: DatabaseHandle
  attempts: Collection<AttemptsDocument>
  digests: CounterDigests
  windowSeconds: number
}

export function createFailedAttempts(
  database: DatabaseHandle,
  options: { windowSeconds: number; clock?: () => Date; secret?: string | undefined },
): FailedAttempts {
  const attempts = database.db.collection<AttemptsDocument>('auth_failures')
  const now = options.clock ?? (() => new Date())
  const digests = counterDigests(options.secret)
  const store: Store = { database, attempts, digests, windowSeconds: options.windowSeconds }

  const refund = (counter: Counter) =>
    database
      .call((limit) => attempts.updateOne({ _id: digests.id(counter), count: { $gt: 0 } }, { $inc: { count: -1 } }, limit))
      .then(() => undefined)

  return {
    async ensureIndexes() {
      const mode = await ensureExpiry(database, attempts)
      await ensureIndexes(database, attempts, [{ key: { subject: 1 }, name: 'subject' }])
      return mode
    },
    async take(counters) {
      const at = now()
      const taken: Counter[] = []
      try {
        for (const { counter, limit } of counters) {
          const wait = await takeOne(store, counter, limit, at)
          if (wait > 0) {
            await Promise.all(taken.map(refund))
            return { kind: counter.kind, retryAfterSeconds: wait }
          }
          taken.push(counter)
        }
      } catch (error) {
        // Best effort: the request failed, so it should cost nothing either.
        await Promise.allSettled(taken.map(refund))
        throw error
      }
      return null
    },
    async reset(counter) {
      await database.call((limit) => attempts.deleteOne({ _id: digests.id(counter) }, limit))
    },
    refund,
    async forgetSubjects({ userId, logins }) {
      const subjects = [digests.subject({ userId }), ...logins.map((login) => digests.subject({ login }))]
      await database.call((limit) => attempts.deleteMany({ subject: { $in: subjects } }, limit))
    },
    sweep: () => database.call((limit) => sweepExpired(attempts, now(), limit)),
  }
}

/**
 * Takes one attempt if the counter is under its limit and resolves to 0, else to the seconds
 * until its window ends. The check and the increment are one single-document write, so parallel
 * attempts cannot pass the limit together, and a counter at its limit is not written at all.
 */
async function takeOne({ database, attempts, digests, windowSeconds }: Store, counter: Counter, limit: number, at: Date) {
  const _id = digests.id(counter)
  const onInsert = {
    kind: counter.kind,
    expiresAt: new Date(at.getTime() + windowSeconds * 1000),
    ...(counter.kind === 'login' ? { subject: digests.subject(counter.subject) } : {}),
  }
  for (let round = 0; round < 4; round++) {
    try {
      // Matches a live window under the limit; otherwise tries to insert a new window, which the
      // unique _id refuses if the counter exists (at its limit, expired, or just inserted by a
      // concurrent first attempt).
      await database.call((time) =>
        attempts.updateOne(
          { _id, count: { $lt: limit }, expiresAt: { $gt: at } },
          { $inc: { count: 1 }, $setOnInsert: onInsert },
          { ...time, upsert: true },
        ),
      )
      return 0
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error
    }
    const current = await database.call((time) => attempts.findOne({ _id }, time))
    if (current && current.expiresAt > at) {
      if (current.count >= limit) return Math.max(1, Math.ceil((current.expiresAt.getTime() - at.getTime()) / 1000))
      continue // a concurrent first attempt inserted it: count on it
    }
    // Expired: dropped, so the next round starts a fresh window.
    if (current) await database.call((time) => attempts.deleteOne({ _id, expiresAt: { $lte: at } }, time))
  }
  throw new UnavailableError('Too many concurrent credential checks on one counter.', 1)
}
