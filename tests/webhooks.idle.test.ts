import { afterAll, describe, expect, it } from 'bun:test'
import type { Lease } from '../src/db/lease'
import { createWebhookDispatcher } from '../src/webhooks/webhooks.dispatcher'
import type { WebhookStores } from '../src/webhooks/webhooks.model'
import { loopbackWorkers, publishEvents, startReceiver, useWebhooksTestApp, waitUntil } from './helpers/webhooks'

/**
 * An idle instance makes few database calls (issue 18: the bench charges idle CPU to the requests
 * served): the dispatcher pauses long while no endpoint is enabled and a new one wakes it at once;
 * the workers look less often while nothing is due and still find what another instance made due.
 */
const receiver = startReceiver()
const leases: Lease[] = []

afterAll(async () => {
  await Promise.all(leases.map((lease) => lease.stop()))
  receiver.stop()
})

/** The stores, counting the dispatcher's reads of the endpoint list (one per round that holds the lease). */
function countingRounds(stores: WebhookStores) {
  const counted = { rounds: 0 }
  const list = () => {
    counted.rounds++
    return stores.endpoints.list()
  }
  const endpoints = { ...stores.endpoints, list }
  return { stores: { ...stores, endpoints }, counted }
}

describe('the webhook dispatcher when idle', () => {
  it('pauses for its idle interval while no endpoint is enabled, whatever is published, and a new endpoint ends the pause', async () => {
    const { app, lease } = await useWebhooksTestApp('wh_idle_dispatcher', leases)
    const { stores, counted } = countingRounds(app.webhooks)
    const dispatcher = createWebhookDispatcher({ stores, lease, schedule: [0], everyMs: 10, idleEveryMs: 600_000 })
    dispatcher.start()
    try {
      await waitUntil(() => counted.rounds === 1, 'the first round, at start')
      // Events published meanwhile (the relay of an instance with no endpoint) do not wake it either.
      for (let i = 0; i < 20; i++) {
        dispatcher.published()
        await Bun.sleep(10)
      }
      // At everyMs it would have looked about 20 times by now.
      expect(counted.rounds).toBe(1)

      const res = await app.api.v1.webhooks.$post({ json: { url: receiver.url('/wh_idle_dispatcher/a') } as never })
      expect(res.status).toBe(201)
      const { id } = (await res.json()) as { id: string }
      const [event] = await publishEvents(app.db, [{ type: 'user.created' }])
      // Without the wake-up, the next round would be ten minutes away.
      await waitUntil(
        async () => (await app.db.collection('webhook_deliveries').countDocuments({ webhookId: id, eventId: event?.id })) === 1,
        'the delivery of the event published after the endpoint was created',
      )
      expect(counted.rounds).toBeGreaterThan(1)
    } finally {
      await dispatcher.stop()
    }
  })
})

describe('the webhook dispatcher when its relay publishes', () => {
  it('looks at once when told of new events, and at most once per 50 ms however often it is told', async () => {
    const { app, lease } = await useWebhooksTestApp('wh_published', leases)
    const { stores, counted } = countingRounds(app.webhooks)
    const dispatcher = createWebhookDispatcher({ stores, lease, schedule: [0], everyMs: 600_000, idleEveryMs: 600_000 })
    const res = await app.api.v1.webhooks.$post({ json: { url: receiver.url('/wh_published/a') } as never })
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: string }
    dispatcher.start()
    try {
      await waitUntil(() => counted.rounds === 1, 'the first round, at start')
      const [event] = await publishEvents(app.db, [{ type: 'user.created' }])
      dispatcher.published()
      // Without it, the next round would be ten minutes away.
      await waitUntil(
        async () => (await app.db.collection('webhook_deliveries').countDocuments({ webhookId: id, eventId: event?.id })) === 1,
        'the delivery of the event the relay published',
      )
      // A relay publishing small batches under load: told every 5 ms for 500 ms.
      const before = counted.rounds
      const started = performance.now()
      while (performance.now() - started < 500) {
        dispatcher.published()
        await Bun.sleep(5)
      }
      const elapsed = performance.now() - started
      const rounds = counted.rounds - before
      expect(rounds).toBeGreaterThan(0)
      // One round per 50 ms at most (and one that may have been under way): not one per nudge.
      expect(rounds).toBeLessThanOrEqual(Math.floor(elapsed / 50) + 2)
    } finally {
      await dispatcher.stop()
    }
  })
})

describe('the delivery workers when idle', () => {
  it('look for due work less and less often while none is due, and still find a delivery no one woke them for', async () => {
    const { app, lease } = await useWebhooksTestApp('wh_idle_workers', leases)
    const schedule = [0]
    let claims = 0
    const deliveries = {
      ...app.webhooks.deliveries,
      claim: (...args: Parameters<typeof app.webhooks.deliveries.claim>) => {
        claims++
        return app.webhooks.deliveries.claim(...args)
      },
    }
    const workers = loopbackWorkers({ ...app.webhooks, deliveries }, schedule, { pollMs: 10, idlePollMs: 80 })
    workers.start()
    try {
      await Bun.sleep(300) // long enough for the pause to reach idlePollMs
      // At pollMs (10 ms) that would be about 30 looks; doubling from 10 ms to 80 ms, about 6.
      expect(claims).toBeLessThan(12)
      const res = await app.api.v1.webhooks.$post({ json: { url: receiver.url('/wh_idle_workers/a') } as never })
      expect(res.status).toBe(201)
      await publishEvents(app.db, [{ type: 'user.created' }])
      // Another instance's dispatcher, as it were: these workers are not told about the delivery.
      const other = createWebhookDispatcher({ stores: app.webhooks, lease, schedule })
      expect(await other.dispatch()).toBe(1)
      await waitUntil(() => receiver.at('/wh_idle_workers/a').length === 1, 'the attempt found by the idle poll')
    } finally {
      await workers.stop()
    }
  })
})

describe('the delivery workers and a manual retry', () => {
  it('look at once when this instance makes a delivery due by a manual retry, not at their next poll', async () => {
    const { app, lease } = await useWebhooksTestApp('wh_retry_wakes', leases)
    const schedule = [0]
    // One look at start, then nothing for ten minutes unless woken.
    const workers = loopbackWorkers(app.webhooks, schedule, { pollMs: 600_000, idlePollMs: 600_000 })
    const created = await app.api.v1.webhooks.$post({ json: { url: receiver.url('/wh_retry_wakes/a') } as never })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }
    workers.start()
    try {
      await publishEvents(app.db, [{ type: 'user.created' }])
      // Another instance's dispatcher, as it were: these workers are not told about the delivery.
      const other = createWebhookDispatcher({ stores: app.webhooks, lease, schedule })
      expect(await other.dispatch()).toBe(1)
      const delivery = await app.db.collection<{ _id: string }>('webhook_deliveries').findOne({ webhookId: id })
      const hooks = app.api.v1.webhooks[':id'].deliveries[':deliveryId']
      const retried = await hooks.retry.$post({ param: { id, deliveryId: delivery?._id as string } })
      expect(retried.status).toBe(202)
      // API.md: "pending and due now". Without the wake-up the workers' next look is ten minutes away.
      await waitUntil(() => receiver.at('/wh_retry_wakes/a').length === 1, 'the retried delivery sent', 5000)
    } finally {
      await workers.stop()
    }
  })
})
