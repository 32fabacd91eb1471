import { afterAll, describe, expect, it } from 'bun:test'
import type { Lease } from '../src/db/lease'
import { createWebhookDispatcher } from '../src/webhooks/webhooks.dispatcher'
import type { StoredEndpoint } from '../src/webhooks/webhooks.model'
import { publishEvents, useWebhooksTestApp, waitUntil } from './helpers/webhooks'

/**
 * The dispatcher's fencing (docs/events.md, "Webhooks"): a dispatcher whose lease ran out while it
 * paused changes nothing another endpoint depends on. Driven round by round on a real lease.
 */
const leases: Lease[] = []
afterAll(async () => {
  await Promise.all(leases.map((lease) => lease.stop()))
})

async function world(name: string) {
  const { app, lease } = await useWebhooksTestApp(name, leases)
  const createEndpoint = async () => {
    const res = await app.api.v1.webhooks.$post({ json: { url: 'http://127.0.0.1:9/hook' } })
    expect(res.status).toBe(201)
    return (await res.json()) as { id: string }
  }
  const sequencesOf = async (webhookId: string) =>
    (await app.db.collection('webhook_deliveries').find({ webhookId }).toArray())
      .map((d) => d.sequence as number)
      .sort((a, b) => a - b)
  return { app, lease, createEndpoint, sequencesOf }
}

describe('the webhook dispatcher: a holder that lost its lease', () => {
  it("does not end a new endpoint's catch-up, so events a racing round passed still reach it", async () => {
    const { app, lease, createEndpoint, sequencesOf } = await world('wh_stale_catchup')
    await publishEvents(
      app.db,
      Array.from({ length: 10 }, () => ({})),
    )
    const holder = createWebhookDispatcher({ stores: app.webhooks, lease, schedule: [0] })
    await holder.dispatch() // cursor: 10
    const hook = await createEndpoint() // startAfterSequence 10, to be caught up
    // A dispatcher whose lease ran out (an older token) reads the cursor (10) and the endpoints, then pauses.
    const { promise: paused, resolve: resume } = Promise.withResolvers<void>()
    let read = false
    const staleStores = {
      ...app.webhooks,
      endpoints: {
        ...app.webhooks.endpoints,
        list: async () => {
          const list = await app.webhooks.endpoints.list()
          read = true
          await paused
          return list
        },
      },
    }
    const stale = createWebhookDispatcher({
      stores: staleStores,
      lease: { token: () => (lease.token() as number) - 1 },
      schedule: [0],
    })
    const staleRound = stale.dispatch()
    await waitUntil(() => read, 'the stale dispatcher read the endpoints')
    // The holder's round that read the endpoints before the create was visible fans 11 and 12 out to no one.
    await publishEvents(app.db, [{}, {}])
    const hidden = (list: StoredEndpoint[]) => list.filter((endpoint) => endpoint.id !== hook.id)
    const racing = createWebhookDispatcher({
      stores: {
        ...app.webhooks,
        endpoints: { ...app.webhooks.endpoints, list: async () => hidden(await app.webhooks.endpoints.list()) },
      },
      lease,
      schedule: [0],
    })
    await racing.dispatch() // cursor: 12
    resume()
    expect(await staleRound).toBe(0)
    const stored = await app.db.collection('webhooks').findOne({ _id: hook.id as never })
    expect(stored).toMatchObject({ catchUp: true })
    await holder.dispatch()
    expect(await sequencesOf(hook.id)).toEqual([11, 12])
    expect(await app.db.collection('webhooks').findOne({ _id: hook.id as never })).not.toHaveProperty('catchUp')
  })

  it('creates no second delivery for an event it fans out again', async () => {
    const { app, lease, createEndpoint, sequencesOf } = await world('wh_stale_duplicates')
    const hook = await createEndpoint()
    await publishEvents(app.db, [{}, {}, {}])
    const holder = createWebhookDispatcher({ stores: app.webhooks, lease, schedule: [0] })
    expect(await holder.dispatch()).toBe(3)
    // A stale dispatcher still at cursor 0 fans the same events out again before its cursor write is refused.
    const staleCursor = { ...app.webhooks.cursor, read: async () => 0 }
    const stale = createWebhookDispatcher({
      stores: { ...app.webhooks, cursor: staleCursor },
      lease: { token: () => (lease.token() as number) - 1 },
      schedule: [0],
    })
    expect(await stale.dispatch()).toBe(0)
    expect(await sequencesOf(hook.id)).toEqual([1, 2, 3])
  })
})
