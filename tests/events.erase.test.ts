import { describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import type { EventsStore } from '../src/events/events.model'
import { useTestApp } from './helpers/context'
import { allEvents, startRelay } from './helpers/events'

/**
 * Erase against the work that runs beside it (docs/events.md, "Erase"): a relay batch that
 * publishes the user's values while the erase is under way, and the relay's own scrub of what
 * webhook receivers answered. The feed is read as a consumer reads it, through GET /v1/events.
 */
type World = Awaited<ReturnType<typeof useTestApp>>

const feedText = async (world: World) => (await world.raw('/v1/events?limit=500')).text()

const rename = (world: World, id: string, displayName: string) =>
  world.raw(`/v1/users/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify({ displayName }),
  })

describe('POST /v1/users/{id}/erase beside the relay', () => {
  it('shows no value of the user in the feed once it answered, when a relay published one of its changes during the erase', async () => {
    const world = await useTestApp({ name: 'erase_beside_relay' })
    // A second instance on the same database answers the erase; its events store lets the test act
    // right after the erase's first scrub of the events, before the user becomes a tombstone.
    let afterFirstScrub: (() => Promise<unknown>) | undefined
    const events: EventsStore = {
      ...world.stores.events,
      async forgetUser(userId) {
        await world.stores.events.forgetUser(userId)
        const act = afterFirstScrub
        afterFirstScrub = undefined
        await act?.()
      },
    }
    const eraser = await useTestApp({ name: 'erase_beside_relay', sameDatabaseAs: world, deps: { events } })
    const secret = `secret-${randomBytes(4).toString('hex')}`
    const user = await world.createUser({ displayName: secret })
    const relay = await startRelay(world, { loop: false })
    expect(await relay.drain()).toBe(1)
    expect((await rename(world, user.id, `${secret}-renamed`)).status).toBe(200)
    // The relay publishes the rename, with its values, after the erase scrubbed the events once.
    let published = 0
    afterFirstScrub = async () => {
      published = await relay.drain()
    }
    expect((await eraser.raw(`/v1/users/${user.id}/erase`, { method: 'POST' })).status).toBe(204)
    expect(published).toBe(1)
    expect(await feedText(world)).not.toContain(secret)
    // Then the erasure itself is published; still nothing.
    expect(await relay.drain()).toBe(1)
    const all = await allEvents(world)
    expect(all.map((event) => [event.type, event.userVersion])).toEqual([
      ['user.created', 1],
      ['user.updated', 2],
      ['user.erased', 3],
    ])
    for (const event of all) expect(event.data).toEqual({})
  })

  it('shows no value when the relay that inserted a change built before the erasure stopped before its scrub, and another finished the batch', async () => {
    const world = await useTestApp({ name: 'erase_finish_batch' })
    const secret = `secret-${randomBytes(4).toString('hex')}`
    const user = await world.createUser({ displayName: secret })
    const first = await startRelay(world, { loop: false })
    expect(await first.drain()).toBe(1)
    await first.stop()
    expect((await rename(world, user.id, `${secret}-renamed`)).status).toBe(200)
    // A relay records the rename (with its values), stalls until the user is erased, inserts and
    // pops it (the user is erased now), and stops there: before its scrub and its commit.
    let resume: () => void = () => {}
    const { promise: isPaused, resolve: paused } = Promise.withResolvers<void>()
    const stopping = await startRelay(world, {
      loop: false,
      onStep: async (step) => {
        if (step === 'popped') throw new Error('stopped after popped')
        if (step !== 'recorded') return
        paused()
        await new Promise<void>((resolve) => {
          resume = resolve
        })
      },
    })
    const stalled = stopping.drain()
    await isPaused
    expect((await world.raw(`/v1/users/${user.id}/erase`, { method: 'POST' })).status).toBe(204)
    resume()
    await expect(stalled).rejects.toThrow('stopped after popped')
    expect(JSON.stringify(await allEvents(world))).toContain(`${secret}-renamed`)
    await stopping.stop()
    // The next holder finishes the batch (the rename, already taken off the tombstone), then the erasure.
    const committed: string[] = []
    const next = await startRelay(world, {
      loop: false,
      onStep: async (step) => {
        if (step === 'committed') committed.push(await feedText(world))
      },
    })
    expect(await next.drain()).toBe(2)
    expect(committed).toHaveLength(2)
    for (const feed of committed) expect(feed).not.toContain(secret)
    expect(JSON.stringify(await allEvents(world))).not.toContain(secret)
  })

  it('clears what webhook receivers answered about the user when the relay publishes the erasure', async () => {
    const world = await useTestApp({ name: 'erase_relay_deliveries' })
    const user = await world.createUser()
    const relay = await startRelay(world, { loop: false, forgetUser: (id) => world.webhooks.deliveries.forgetUser(id) })
    expect(await relay.drain()).toBe(1)
    const [created] = await allEvents(world)
    expect((await world.raw(`/v1/users/${user.id}/erase`, { method: 'POST' })).status).toBe(204)
    // An answer recorded after the erase's own scrubs (here written directly), echoing the user.
    const now = new Date()
    const log = world.db.collection<{ _id: string }>('webhook_deliveries')
    await log.insertOne({
      _id: 'dlv_echo',
      webhookId: 'wh_echo',
      eventId: created?._id,
      eventType: 'user.created',
      sequence: 1,
      userId: user.id,
      status: 'failed',
      attempts: 1,
      recentAttempts: [{ at: now, durationMs: 1, statusCode: 500, responseBody: `who is ${user.email}?` }],
      createdAt: now,
      updatedAt: now,
    } as never)
    expect(await relay.drain()).toBe(1)
    expect(await log.findOne({ _id: 'dlv_echo' })).toMatchObject({
      status: 'failed',
      attempts: 1,
      recentAttempts: [],
      userErased: true,
    })
  })
})
