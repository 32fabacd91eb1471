import { describe, expect, it } from 'bun:test'
import type { Counter } from '../src/credentials/failed-attempts'
import { counterDigests } from '../src/credentials/failed-attempts.digests'
import { createFailedAttempts } from '../src/credentials/failed-attempts.repository'
import { createIdempotencyStore } from '../src/idempotency/idempotency.repository'
import { useTestApp } from './helpers/context'

/**
 * Expiring documents (verify windows, idempotency keys): a TTL index where the server has them,
 * a sweep where it does not (FerretDB). The sweep is tested on whatever server the run uses.
 */
let now = Date.parse('2026-11-25T12:00:00.000Z')
const clock = () => new Date(now)
const t = await useTestApp({ name: 'expiry' })

describe('expiry of stored windows and keys', () => {
  it('sets up a TTL index, or says the server needs sweeping', async () => {
    const attempts = createFailedAttempts(t.database, { windowSeconds: 60, clock })
    const mode = await attempts.ensureIndexes()
    expect(['ttl-index', 'sweep']).toContain(mode)
    // Again, as on every restart.
    expect(await attempts.ensureIndexes()).toBe(mode)
  })

  it('sweeps expired verify windows and leaves live ones', async () => {
    const attempts = createFailedAttempts(t.database, { windowSeconds: 60, clock })
    const old: Counter = { kind: 'client', client: 'sweep-old' }
    const live: Counter = { kind: 'client', client: 'sweep-live' }
    await attempts.take([{ counter: old, limit: 5 }])
    now += 30_000
    await attempts.take([{ counter: live, limit: 5 }])
    now += 31_000 // the first window has ended, the second has not
    expect(await attempts.sweep()).toBeGreaterThanOrEqual(1)
    const ids = counterDigests(undefined)
    const left = await t.db
      .collection<{ _id: string }>('auth_failures')
      .find({ _id: { $in: [ids.id(old), ids.id(live)] } })
      .toArray()
    expect(left.map((doc) => doc._id)).toEqual([ids.id(live)])
  })

  it('sweeps idempotency keys after 24 hours', async () => {
    const store = createIdempotencyStore(t.database, { clock })
    await store.ensureIndexes()
    const claim = await store.claim('caller', 'old-key', 'fp')
    expect(claim.kind).toBe('claimed')
    now += 24 * 60 * 60 * 1000 + 1
    expect(await store.sweep()).toBeGreaterThanOrEqual(1)
    expect(await t.db.collection('idempotency_keys').countDocuments({})).toBe(0)
  })
})
