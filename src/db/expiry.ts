import type { Collection, Document } from 'mongodb'
import type { DatabaseHandle, TimeLimit } from './calls'
import { buildIndex, listIndexes, sameIndex } from './indexes'

const TTL_INDEX = { key: { expiresAt: 1 }, name: 'expiresAt_ttl', expireAfterSeconds: 0 } as const
const SWEPT_INDEX = { key: { expiresAt: 1 }, name: 'expiresAt' } as const

/**
 * Documents that expire at `expiresAt`. MongoDB deletes them itself through a TTL index; FerretDB
 * has no TTL indexes (it answers 238 NotImplemented), so there a sweep deletes them instead. Either
 * way readers must filter on `expiresAt`: TTL deletion is lazy (up to a minute late).
 */
// Index builds as src/db/indexes.ts sends them: startup work, bounded by the operator.
export async function ensureExpiry<T extends Document & { expiresAt: Date }>(
  database: DatabaseHandle,
  collection: Collection<T>,
): Promise<'ttl-index' | 'sweep'> {
  // Listed first (src/db/indexes.ts): a restart sends one read instead of one or two writes.
  const { indexes: listed, created } = await listIndexes(collection)
  if (listed.some((index) => sameIndex(index, TTL_INDEX))) return 'ttl-index'
  // What the fallback below leaves: this server refused the TTL index before, or another index
  // on expiresAt stood in its way (85/86); either way it is swept.
  if (listed.some((index) => sameIndex(index, SWEPT_INDEX))) return 'sweep'
  try {
    await buildIndex(database, collection, TTL_INDEX, created)
    return 'ttl-index'
  } catch (error) {
    const code = (error as { code?: number }).code
    // 238: no TTL indexes here (FerretDB). 85/86: an expiresAt index with other options or name
    // already exists (say, from a database first used by FerretDB); leave it and sweep instead.
    if (code === 85 || code === 86) return 'sweep'
    if (code !== 238) throw error
    await buildIndex(database, collection, SWEPT_INDEX, created)
    return 'sweep'
  }
}

/** Deletes what has expired; the fallback where the server has no TTL indexes. */
export async function sweepExpired<T extends Document & { expiresAt: Date }>(
  collection: Collection<T>,
  now: Date,
  limit: TimeLimit,
): Promise<number> {
  const { deletedCount } = await collection.deleteMany({ expiresAt: { $lte: now } } as never, limit)
  return deletedCount
}
