import { describe, expect, it } from 'bun:test'
import { ObjectId } from 'mongodb'
import { EVENT_ID_PATTERN } from '../src/events/events.ids'
import type { EventList } from '../src/events/events.schemas'
import { useTestApp } from './helpers/context'
import { startRelay } from './helpers/events'
import { expectProblem } from './helpers/problem'

/**
 * The outbox on the user document (docs/events.md, "The outbox: the write path"): the event is in
 * the change's own write, so the two exist together or not at all; a full outbox refuses the change
 * (and changes nothing); the import writes its events the same way.
 */
const t = await useTestApp({ name: 'events_outbox' })

const patch = (id: string, body: object) =>
  t.raw(`/v1/users/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify(body),
  })
const stored = (id: string) => t.collection.findOne({ _id: new ObjectId(id) })

describe('the outbox', () => {
  it('holds each change with the write that made it, in order, with ids the feed will use', async () => {
    const user = await t.createUser({ displayName: 'Outboxed' })
    expect((await patch(user.id, { displayName: 'Again' })).status).toBe(200)
    expect((await patch(user.id, { metadata: { plan: 'pro' } })).status).toBe(200)
    const doc = await stored(user.id)
    expect(doc?.version).toBe(3)
    expect(doc?.eventBase).toEqual({ version: 0 })
    expect(doc?.pendingEvents.map((event: { type: string }) => event.type)).toEqual([
      'user.created',
      'user.updated',
      'user.updated',
    ])
    for (const event of doc?.pendingEvents ?? []) expect(event.id).toMatch(EVENT_ID_PATTERN)
    expect(doc?.pendingEvents[1]).toMatchObject({ set: { displayName: 'Again' }, occurredAt: doc?.pendingEvents[1].occurredAt })
    expect(doc?.pendingEvents[2]).toMatchObject({ set: { metadata: { plan: 'pro' } } })
    expect(doc?.outboxSince).toEqual(doc?.pendingEvents[0].occurredAt)
  })

  it('records a password change as passwordChanged, never the hash', async () => {
    const user = await t.createUser()
    expect((await patch(user.id, { password: 'a new long password' })).status).toBe(200)
    const doc = await stored(user.id)
    const event = doc?.pendingEvents.at(-1)
    expect(event).toMatchObject({ type: 'user.updated', passwordChanged: true })
    expect(JSON.stringify(doc?.pendingEvents)).not.toContain(doc?.passwordHash)
    expect(JSON.stringify(doc?.pendingEvents)).not.toContain('argon2')
  })

  it('refuses a change with 503 and Retry-After once 100 events wait, and changes nothing; an erasure still goes through', async () => {
    const user = await t.createUser()
    const waiting = Array.from({ length: 99 }, (_, index) => ({
      id: `evt_0000000000000000000000${String(index).padStart(4, '0')}`,
      type: 'user.updated',
      occurredAt: new Date(),
    }))
    await t.collection.updateOne({ _id: new ObjectId(user.id) }, { $push: { pendingEvents: { $each: waiting } } as never })
    const before = await stored(user.id)
    for (const res of [
      await patch(user.id, { displayName: 'Fast path' }),
      await patch(user.id, { metadata: { read: 'then write' } }),
      await t.raw(`/v1/users/${user.id}`, { method: 'DELETE' }),
    ]) {
      const problem = await expectProblem(res, 503, 'service_unavailable')
      expect(res.headers.get('retry-after')).toBe('2')
      expect(problem.detail).toContain('waiting to be published as events')
    }
    expect(await stored(user.id)).toEqual(before)
    // Erasure is not refused: what it adds holds ids only.
    expect((await t.raw(`/v1/users/${user.id}/erase`, { method: 'POST' })).status).toBe(204)
    const tombstone = await stored(user.id)
    expect(tombstone?.pendingEvents).toHaveLength(101)
    expect(tombstone?.pendingEvents.at(-1)).toMatchObject({ type: 'user.erased' })
  })

  it('gives each imported user its user.created event, at the time of the import', async () => {
    const id = new ObjectId().toHexString()
    const createdAt = new Date('2020-01-02T03:04:05.000Z')
    const outcomes = await t.users.insertImported([
      {
        id,
        createdAt,
        user: { username: `imported${id}`, email: `${id}@example.com`, metadata: {}, role: 'user', status: 'active' },
      },
    ])
    expect(outcomes).toEqual([{ kind: 'imported' }])
    // And a second run of the same batch adds nothing.
    expect(
      await t.users.insertImported([
        {
          id,
          createdAt,
          user: { username: `imported${id}`, email: `${id}@example.com`, metadata: {}, role: 'user', status: 'active' },
        },
      ]),
    ).toEqual([{ kind: 'already_imported' }])
    const relay = await startRelay(t, { loop: false })
    await relay.drain()
    const { items } = (await (await t.raw(`/v1/events?userId=${id}`)).json()) as EventList
    expect(items).toHaveLength(1)
    expect(items[0]).toMatchObject({
      type: 'user.created',
      userVersion: 1,
      data: { user: { id, createdAt: createdAt.toISOString() } },
    })
    expect(Date.parse(items[0]?.occurredAt ?? '')).toBeGreaterThan(createdAt.getTime())
    await relay.stop()
  })
})
