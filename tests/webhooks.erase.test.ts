import { afterAll, describe, expect, it } from 'bun:test'
import type { Lease } from '../src/db/lease'
import { createWebhookDispatcher } from '../src/webhooks/webhooks.dispatcher'
import { RECENT_ATTEMPTS } from '../src/webhooks/webhooks.model'
import { loopbackWorkers, publishEvents, startReceiver, useWebhooksTestApp, waitUntil } from './helpers/webhooks'

/**
 * The deliveries log and an erase (docs/events.md, "Erase"): what receivers answered about an
 * erased user's events is forgotten, also when an attempt is in flight while the erase runs.
 * Events published as the relay publishes them, the real dispatcher, workers and sender, and a
 * receiver on 127.0.0.1 that echoes what it got.
 */
const receiver = startReceiver()
const leases: Lease[] = []
afterAll(async () => {
  await Promise.all(leases.map((lease) => lease.stop()))
  receiver.stop()
})

async function world(name: string, schedule: number[], clock?: () => Date) {
  const { app, lease } = await useWebhooksTestApp(name, leases)
  const dispatcher = createWebhookDispatcher({ stores: app.webhooks, lease, schedule })
  const workers = loopbackWorkers(app.webhooks, schedule, clock ? { clock } : {})
  const path = `/${name}/echo`
  const res = await app.api.v1.webhooks.$post({ json: { url: receiver.url(path) } as never })
  expect(res.status).toBe(201)
  const log = () => app.db.collection('webhook_deliveries').find({}).toArray()
  return { app, dispatcher, workers, path, log }
}

describe('POST /v1/users/{id}/erase and the deliveries log', () => {
  it('keeps no value of the user from an attempt that was in flight while the erase ran', async () => {
    const w = await world('wh_erase_inflight', [0, 0, 0])
    const user = await w.app.createUser()
    const { promise: gate, resolve: release } = Promise.withResolvers<void>()
    let arrived = false
    // The receiver echoes the event it got (the user's values) in a failure, after the erase.
    receiver.on(w.path, async (request) => {
      arrived = true
      await gate
      return new Response(`cannot take ${request.body}`, { status: 500 })
    })
    await publishEvents(w.app.db, [{ type: 'user.created', userId: user.id, data: { user } }])
    await w.dispatcher.dispatch()
    const draining = w.workers.drain()
    await waitUntil(() => arrived, 'an attempt is in flight')
    expect((await w.app.api.v1.users[':id'].erase.$post({ param: { id: user.id } })).status).toBe(204)
    release()
    await draining
    const log = await w.log()
    expect(log).toHaveLength(1)
    // Every attempt is recorded (the one in flight and the retries after the erase), none with what the receiver said.
    expect(log[0]).toMatchObject({ userId: user.id, attempts: 3, status: 'failed' })
    expect(log[0]?.recentAttempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([500, 500, 500])
    for (const attempt of log[0]?.recentAttempts ?? []) expect(attempt).not.toHaveProperty('responseBody')
    const text = JSON.stringify(log)
    for (const value of [user.email, user.username]) expect(text).not.toContain(value)
  })

  it("keeps nothing a receiver answers about an erased user's events sent after the erase (an endpoint catching up)", async () => {
    const w = await world('wh_erase_after', [0])
    const user = await w.app.createUser()
    // The receiver's error page names the user it looked up on its side.
    receiver.on(w.path, () => new Response(`no account for ${user.email}`, { status: 500 }))
    // The user's events as they are once erased: the earlier ones scrubbed, and the erase itself.
    await publishEvents(w.app.db, [
      { type: 'user.created', userId: user.id, data: {} },
      { type: 'user.erased', userId: user.id },
    ])
    await w.dispatcher.dispatch()
    await w.workers.drain()
    const log = await w.log()
    expect(log.map((delivery) => delivery.status)).toEqual(['failed', 'failed'])
    for (const delivery of log) expect(delivery.recentAttempts).toEqual([expect.objectContaining({ statusCode: 500 })])
    expect(JSON.stringify(log)).not.toContain(user.email)
  })

  it(`keeps the last ${RECENT_ATTEMPTS} attempts of a delivery, oldest first, with what the receiver answered`, async () => {
    const attempts = RECENT_ATTEMPTS + 2
    // The workers' clock jumps an hour after each round: past every pause of the endpoint's circuit breaker.
    let ahead = 0
    const w = await world(
      'wh_recent_attempts',
      Array.from({ length: attempts }, () => 0),
      () => new Date(Date.now() + ahead),
    )
    receiver.on(w.path, (_request, attempt) => new Response(`no ${attempt}`, { status: attempt < attempts ? 503 : 200 }))
    await publishEvents(w.app.db, [{}])
    await w.dispatcher.dispatch()
    for (let round = 0; round < attempts; round++) {
      await w.workers.drain()
      ahead += 3_600_000
    }
    const [delivery] = await w.log()
    expect(delivery).toMatchObject({ status: 'succeeded', attempts })
    const bodies = delivery?.recentAttempts.map((attempt: { responseBody: string }) => attempt.responseBody)
    expect(bodies).toEqual(Array.from({ length: RECENT_ATTEMPTS }, (_, i) => `no ${attempts - RECENT_ATTEMPTS + 1 + i}`))
  })
})
