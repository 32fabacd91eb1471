import type { DatabaseHandle } from '../db/calls'
import { isDuplicateKeyError } from '../db/errors'
import { ensureExpiry, sweepExpired } from '../db/expiry'
import { ensureIndexes } from '../db/indexes'
import type { Claim, IdempotencyStore, StoredResponse } from './idempotency'

const TTL_MS = 24 * 60 * 60 * 1000
/** The fingerprint of a record whose user was erased: not a SHA-256, so no request matches it. */
const ERASED = 'erased'

type KeyDocument = {
  _id: string
  fingerprint: string
  state: 'in_flight' | 'done'
  /** Which claim holds the key while in flight. */
  owner: string
  response?: StoredResponse
  /** The user the request created, so an erase finds the record (the response body is that user). */
  userId?: string
  /** An in-flight claim older than this belongs to an instance that died: it may be taken over. */
  lockedUntil: Date
  expiresAt: Date
}

/**
 * MongoDB implementation: one document per caller and key; the unique `_id` makes a claim atomic
 * across instances. `lockMs` must be far above any request's duration (database bound, hashing):
 * past it, an in-flight claim is presumed dead and taken over.
 */
export function createIdempotencyStore(
  database: DatabaseHandle,
  options: { lockMs?: number; clock?: () => Date } = {},
): IdempotencyStore {
  const keys = database.db.collection<KeyDocument>('idempotency_keys')
  const now = options.clock ?? (() => new Date())
  const lockMs = options.lockMs ?? 60_000
  const id = (scope: string, key: string) => `${scope}\u0000${key}`

  async function claim(scope: string, key: string, fingerprint: string): Promise<Claim> {
    const _id = id(scope, key)
    for (let attempt = 0; attempt < 3; attempt++) {
      const at = now()
      const owner = crypto.randomUUID()
      const lockedUntil = new Date(at.getTime() + lockMs)
      try {
        const expiresAt = new Date(at.getTime() + TTL_MS)
        await database.call((limit) =>
          keys.insertOne({ _id, fingerprint, state: 'in_flight', owner, lockedUntil, expiresAt }, limit),
        )
        return { kind: 'claimed', owner }
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error
      }
      const existing = await database.call((limit) => keys.findOne({ _id }, limit))
      if (!existing) continue // released or swept meanwhile: try again
      if (existing.expiresAt <= at) {
        await database.call((limit) => keys.deleteOne({ _id, expiresAt: { $lte: at } }, limit))
        continue
      }
      if (existing.fingerprint !== fingerprint) return { kind: 'reused' }
      if (existing.state === 'done' && existing.response) return { kind: 'replay', response: existing.response }
      // Still running elsewhere, unless its owner died: then take it over, atomically.
      const takenOver = await database.call((limit) =>
        keys.updateOne({ _id, state: 'in_flight', lockedUntil: { $lte: at } }, { $set: { owner, lockedUntil } }, limit),
      )
      return takenOver.modifiedCount === 1 ? { kind: 'claimed', owner } : { kind: 'in_flight' }
    }
    return { kind: 'in_flight' }
  }

  return {
    async ensureIndexes() {
      // Erase finds the records of a user's create by it (forgetUser).
      await ensureIndexes(database, keys, [{ key: { userId: 1 }, name: 'userId' }])
      return ensureExpiry(database, keys)
    },
    claim,
    async complete(scope, key, owner, response, userId) {
      const set = { state: 'done' as const, response, ...(userId ? { userId } : {}) }
      await database.call((limit) => keys.updateOne({ _id: id(scope, key), owner }, { $set: set }, limit))
    },
    async release(scope, key, owner) {
      await database.call((limit) => keys.deleteOne({ _id: id(scope, key), state: 'in_flight', owner }, limit))
    },
    sweep: () => database.call((limit) => sweepExpired(keys, now(), limit)),
    async forgetUser(userId) {
      // No fingerprint a request can have: the key answers 422 until it expires, never a replay.
      await database.call((limit) =>
        keys.updateMany({ userId }, { $set: { fingerprint: ERASED }, $unset: { response: '' } }, limit),
      )
    },
  }
}
