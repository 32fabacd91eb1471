import { afterAll, describe, expect, it } from 'bun:test'
import { MongoClient } from 'mongodb'

/**
 * The database operations docs/events.md builds the outbox and the relay on, checked on the run's
 * server (the embedded FerretDB, or MongoDB with MONGODB_URI): each must behave the same on both.
 * FerretDB silently ignores some operators MongoDB has ($push's $slice, $pull with a condition,
 * $elemMatch on documents), so the design avoids those; these are the ones it uses instead.
 */
const client = new MongoClient(globalThis.testMongoUri)
const db = client.db(`test_events_storage_${crypto.randomUUID().slice(0, 8)}`)
type PendingUser = {
  _id: string
  version: number
  pendingEvents?: { id: string; set?: object }[]
  outboxSince?: Date
  eventBase?: object
}
const users = db.collection<PendingUser>('users')

afterAll(async () => {
  await db.dropDatabase()
  await client.close()
})

const ids = async (_id: string) => ((await users.findOne({ _id }))?.pendingEvents ?? []).map((e) => e.id)

describe('the outbox on the user document', () => {
  it('takes the event in the same guarded findOneAndUpdate as the change', async () => {
    await users.insertOne({ _id: 'write', version: 1, eventBase: { version: 0 }, pendingEvents: [] })
    const guard = { _id: 'write', version: 1, eventBase: { $exists: true }, 'pendingEvents.99': { $exists: false } }
    const change = { $inc: { version: 1 }, $push: { pendingEvents: { id: 'evt_1' } }, $min: { outboxSince: new Date(5000) } }
    const after = await users.findOneAndUpdate(guard, change, { returnDocument: 'after' })
    expect(after).toMatchObject({ version: 2, pendingEvents: [{ id: 'evt_1' }], outboxSince: new Date(5000) })
    // A stale version writes neither the change nor its event.
    expect(await users.findOneAndUpdate(guard, change)).toBeNull()
    expect(await ids('write')).toEqual(['evt_1'])
  })

  it('refuses a write once the outbox holds 100 events', async () => {
    const full = Array.from({ length: 100 }, (_, i) => ({ id: `evt_${i}` }))
    await users.insertOne({ _id: 'full', version: 1, pendingEvents: full })
    const guard = { _id: 'full', 'pendingEvents.99': { $exists: false } }
    expect(await users.findOneAndUpdate(guard, { $inc: { version: 1 } })).toBeNull()
    await users.updateOne({ _id: 'full', 'pendingEvents.0.id': 'evt_0' }, { $pop: { pendingEvents: -1 } })
    expect(await users.findOneAndUpdate(guard, { $inc: { version: 1 } })).not.toBeNull()
  })

  it('starts an outbox on a document that has none', async () => {
    await users.insertOne({ _id: 'legacy', version: 7 })
    const after = await users.findOneAndUpdate(
      { _id: 'legacy', 'pendingEvents.99': { $exists: false } },
      { $inc: { version: 1 }, $push: { pendingEvents: { id: 'evt_l' } } },
      { returnDocument: 'after' },
    )
    expect(after?.pendingEvents).toEqual([{ id: 'evt_l' }])
    // The fast path's guard sends a user without eventBase to the read-then-write path.
    expect(await users.findOneAndUpdate({ _id: 'legacy', eventBase: { $exists: true } }, { $inc: { version: 1 } })).toBeNull()
  })
})

describe('the relay taking events off the user document', () => {
  it('pops the oldest event only while it is the one named, so a rerun changes nothing', async () => {
    await users.insertOne({ _id: 'pop', version: 3, pendingEvents: [{ id: 'evt_a' }, { id: 'evt_b' }] })
    const pop = (id: string) =>
      users.updateOne(
        { _id: 'pop', 'pendingEvents.0.id': id },
        { $pop: { pendingEvents: -1 }, $set: { eventBase: { version: 2 } } },
      )
    expect((await pop('evt_a')).modifiedCount).toBe(1)
    expect((await pop('evt_a')).matchedCount).toBe(0)
    expect(await ids('pop')).toEqual(['evt_b'])
  })

  it('loses and doubles nothing while writers push and the relay pops', async () => {
    const initial = Array.from({ length: 5 }, (_, i) => ({ id: `evt_old${i}` }))
    await users.insertOne({ _id: 'hot', version: 1, pendingEvents: initial })
    const relay = async () => {
      for (const id of ['evt_old0', 'evt_old1', 'evt_old2']) {
        await users.updateOne({ _id: 'hot', 'pendingEvents.0.id': id }, { $pop: { pendingEvents: -1 } })
      }
    }
    const writers = Array.from({ length: 20 }, (_, i) =>
      users.updateOne({ _id: 'hot' }, { $push: { pendingEvents: { id: `evt_new${i}` } }, $inc: { version: 1 } }),
    )
    await Promise.all([relay(), ...writers])
    const left = await ids('hot')
    expect(left.slice(0, 2)).toEqual(['evt_old3', 'evt_old4'])
    expect(new Set(left).size).toBe(22)
    expect(left.filter((id) => id.startsWith('evt_new')).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `evt_new${i}`).sort(),
    )
  })

  it('clears outboxSince only when the outbox is empty', async () => {
    await users.insertOne({ _id: 'clear', version: 2, pendingEvents: [{ id: 'evt_c' }], outboxSince: new Date(1000) })
    const clear = () => users.updateOne({ _id: 'clear', pendingEvents: { $size: 0 } }, { $unset: { outboxSince: '' } })
    expect((await clear()).matchedCount).toBe(0)
    await users.updateOne({ _id: 'clear', 'pendingEvents.0.id': 'evt_c' }, { $pop: { pendingEvents: -1 } })
    expect((await clear()).modifiedCount).toBe(1)
    expect(await users.findOne({ _id: 'clear' })).not.toHaveProperty('outboxSince')
  })

  it('scrubs a pending event by its index (no positional operators needed)', async () => {
    await users.insertOne({ _id: 'erase', version: 2, pendingEvents: [{ id: 'evt_e', set: { email: 'a@example.com' } }] })
    await users.updateOne({ _id: 'erase', version: 2 }, { $set: { 'pendingEvents.0.set': {} } })
    expect((await users.findOne({ _id: 'erase' }))?.pendingEvents).toEqual([{ id: 'evt_e', set: {} }])
  })
})

describe('the events collection', () => {
  const events = db.collection<{ _id: string; sequence: number }>('events')

  it('inserts a batch again without doubling it, keeping one sequence per event', async () => {
    await events.createIndex({ sequence: 1 }, { unique: true })
    const batch = [
      { _id: 'evt_1', sequence: 1 },
      { _id: 'evt_2', sequence: 2 },
      { _id: 'evt_3', sequence: 3 },
    ]
    await events.insertMany(batch.slice(0, 2))
    const rerun = await events
      .insertMany(batch, { ordered: false })
      .catch((error: { code?: number; writeErrors?: { code: number }[] }) => error)
    expect((rerun as { writeErrors?: { code: number }[] }).writeErrors?.map((e) => e.code)).toEqual([11000, 11000])
    expect(await events.find().sort({ sequence: 1 }).toArray()).toEqual(batch)
  })

  it('has exactly one winner when many instances take an expired lease at once', async () => {
    const state = db.collection<{ _id: string; leaseUntil: Date; token: number; owner?: string }>('events_state')
    await state.insertOne({ _id: 'relay', leaseUntil: new Date(0), token: 0 })
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        state.findOneAndUpdate(
          { _id: 'relay', leaseUntil: { $lt: new Date() } },
          { $set: { owner: `instance${i}`, leaseUntil: new Date(Date.now() + 10_000) }, $inc: { token: 1 } },
          { returnDocument: 'after' },
        ),
      ),
    )
    expect(claims.filter(Boolean)).toHaveLength(1)
    expect((await state.findOne({ _id: 'relay' }))?.token).toBe(1)
  })
})
