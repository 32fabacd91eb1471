import { afterAll, describe, expect, it } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import { testConfig } from '../src/config'
import type { Lease } from '../src/db/lease'
import { verifyWebhook } from '../src/events/events.verify'
import { createWebhookDispatcher } from '../src/webhooks/webhooks.dispatcher'
import { createWebhookSender } from '../src/webhooks/webhooks.sender'
import { createDeliveryWorkers } from '../src/webhooks/webhooks.workers'
import { useTestApp } from './helpers/context'
import { makeVisible, publishEvents, startReceiver, useWebhooksTestApp, verifyBoth, waitUntil } from './helpers/webhooks'

/**
 * Webhook delivery end to end on the run's database: events published as the relay publishes them,
 * the dispatcher on a real lease, the workers with the real sender, and a receiver on 127.0.0.1
 * that checks every request with the `standardwebhooks` package and the client's verifyWebhook.
 * Each test has a world of its own (database, lease, dispatcher, workers), driven directly.
 */
const receiver = startReceiver()
const leases: Lease[] = []
const _base = testConfig()
const HOUR = 3_600_000

afterAll(async () => {
  await Promise.all(leases.map((lease) => lease.stop()))
  receiver.stop()
})

type WorldOptions = {
  schedule?: number[]
  timeoutMs?: number
  perEndpoint?: number
  concurrency?: number
  /** The app's clock (endpoint management); signing and claims use the real one. */
  clock?: () => Date
  /** The workers' clock (claims, retries, pauses); the real one by default. */
  workersClock?: () => Date
}

async function world(name: string, options: WorldOptions = {}) {
  const { app, lease } = await useWebhooksTestApp(name, leases, options.clock)
  const schedule = options.schedule ?? [0, 0, 0]
  const timeoutMs = options.timeoutMs ?? 5000
  const dispatcher = createWebhookDispatcher({ stores: app.webhooks, lease, schedule })
  const workers = createDeliveryWorkers({
    stores: app.webhooks,
    send: createWebhookSender({ timeoutMs, allowPrivateTargets: true, clock: () => new Date() }),
    schedule,
    timeoutMs,
    random: () => 0,
    ...(options.workersClock ? { clock: options.workersClock } : {}),
    ...(options.perEndpoint ? { perEndpoint: options.perEndpoint } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  })
  const path = (suffix: string) => `/${name}/${suffix}`
  /** Creates an endpoint at the receiver's `suffix` path; its id and secret. */
  const endpoint = async (suffix: string, body: Record<string, unknown> = {}) => {
    const res = await app.api.v1.webhooks.$post({ json: { url: receiver.url(path(suffix)), ...body } as never })
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
    const created = await res.json()
    return { id: created.id, secret: created.secret, path: path(suffix) }
  }
  const deliveries = (webhookId: string) =>
    app.db.collection('webhook_deliveries').find({ webhookId }).sort({ sequence: 1 }).toArray()
  /** One dispatch round, then every attempt that is due (retries with a zero delay included). */
  const run = async () => {
    const created = await dispatcher.dispatch()
    await workers.drain()
    return created
  }
  return { ...app, lease, dispatcher, workers, endpoint, deliveries, run }
}

describe('webhook delivery', () => {
  it('delivers each event once to each endpoint whose types match, signed for both verifiers', async () => {
    const w = await world('wh_fanout')
    const all = await w.endpoint('all')
    const created = await w.endpoint('created', { types: ['user.created'] })
    const events = await publishEvents(w.db, [{ type: 'user.created' }, { type: 'user.updated' }, { type: 'user.deleted' }])
    expect(await w.run()).toBe(4)

    const toAll = receiver.at(all.path)
    expect(toAll.map((request) => request.headers['webhook-id'])).toEqual(events.map((event) => event.id))
    for (const [i, request] of toAll.entries()) {
      expect(await verifyBoth(all.secret, request)).toEqual(events[i]!)
      expect(JSON.parse(request.body)).toEqual(events[i]!)
      expect(request.headers['content-type']).toBe('application/json')
    }
    expect(receiver.at(created.path).map((request) => JSON.parse(request.body).type)).toEqual(['user.created'])
    const stored = await w.deliveries(all.id)
    expect(stored.map((delivery) => [delivery.status, delivery.attempts])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
      ['succeeded', 1],
    ])
    expect(stored[0]?.recentAttempts).toEqual([expect.objectContaining({ statusCode: 200 })])

    // Again: the fan-out is idempotent and nothing is sent twice.
    await w.lease.stop()
    w.lease.start()
    await waitUntil(() => w.lease.held(), 'the lease is held again')
    await w.db.collection('events_state').updateOne({ _id: 'webhook-dispatcher' as never }, { $set: { dispatchedThrough: 0 } })
    expect(await w.run()).toBe(0)
    expect(receiver.at(all.path)).toHaveLength(3)
  })

  it('sends nothing from before the endpoint existed, nor above the watermark until it moves', async () => {
    const w = await world('wh_watermark')
    await publishEvents(w.db, [{}, {}])
    const hook = await w.endpoint('hook')
    const [visible] = await publishEvents(w.db, [{}])
    const [hidden] = await publishEvents(w.db, [{}], { visible: false })
    await w.run()
    expect(receiver.at(hook.path).map((request) => request.headers['webhook-id'])).toEqual([visible!.id])
    await makeVisible(w.db, hidden!.sequence)
    await w.run()
    expect(receiver.at(hook.path).map((request) => request.headers['webhook-id'])).toEqual([visible!.id, hidden!.id])
  })

  it('catches up an endpoint whose create a dispatch round raced past', async () => {
    const w = await world('wh_catchup')
    const raced = await w.endpoint('raced')
    const control = await w.endpoint('control')
    const events = await publishEvents(w.db, [{}, {}, {}])
    // A round that read the endpoints before these were written, and moved its cursor past the events.
    await w.db
      .collection('events_state')
      .updateOne({ _id: 'webhook-dispatcher' as never }, { $set: { dispatchedThrough: events.at(-1)!.sequence } })
    await w.db.collection('webhooks').updateOne({ _id: control.id as never }, { $unset: { catchUp: '' } })
    await w.run()
    expect(receiver.at(raced.path)).toHaveLength(3)
    // Without the catch-up flag those events would have been lost to it, as they are to the control.
    expect(receiver.at(control.path)).toHaveLength(0)
    expect(await w.db.collection('webhooks').findOne({ _id: raced.id as never })).not.toHaveProperty('catchUp')
  })

  it('retries failed attempts on the schedule with the same webhook-id until one is delivered', async () => {
    const w = await world('wh_retry', { schedule: [0, 0, 0, 0] })
    const hook = await w.endpoint('flaky')
    receiver.on(hook.path, (_request, attempt) => new Response('nope', { status: attempt <= 2 ? 500 : 200 }))
    const [event] = await publishEvents(w.db, [{}])
    await w.run()
    const requests = receiver.at(hook.path)
    expect(requests.map((request) => request.headers['webhook-id'])).toEqual([event!.id, event!.id, event!.id])
    for (const request of requests) expect(await verifyBoth(hook.secret, request)).toEqual(event!)
    const [delivery] = await w.deliveries(hook.id)
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 3 })
    expect(delivery?.recentAttempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 200])
    expect(delivery?.recentAttempts[0]).toMatchObject({ errorClass: 'http_status', responseBody: 'nope' })
  })

  it('fails a delivery after the last attempt of the schedule', async () => {
    const w = await world('wh_exhausted', { schedule: [0, 0] })
    const hook = await w.endpoint('down')
    receiver.on(hook.path, () => new Response('down', { status: 503 }))
    await publishEvents(w.db, [{}])
    await w.run()
    expect(receiver.at(hook.path)).toHaveLength(2)
    const [delivery] = await w.deliveries(hook.id)
    expect(delivery).toMatchObject({ status: 'failed', attempts: 2 })
    expect(delivery).not.toHaveProperty('nextAttemptAt')
  })

  it("honours a 429's Retry-After as the earliest next attempt", async () => {
    const w = await world('wh_retry_after', { schedule: [0, 0, 0] })
    const hook = await w.endpoint('busy')
    receiver.on(hook.path, () => new Response('slow down', { status: 429, headers: { 'retry-after': '120' } }))
    await publishEvents(w.db, [{}])
    await w.run()
    const [delivery] = (await w.deliveries(hook.id)) as unknown as {
      status: string
      nextAttemptAt: Date
      recentAttempts: { at: Date }[]
    }[]
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1 })
    const attemptedAt = delivery!.recentAttempts[0]!.at.getTime()
    expect(delivery!.nextAttemptAt.getTime() - attemptedAt).toBeGreaterThanOrEqual(120_000)
    expect(receiver.at(hook.path)).toHaveLength(1)
  })

  it('disables the endpoint on 410 Gone, with the reason, and fails what was pending for it', async () => {
    const w = await world('wh_gone', { perEndpoint: 1 })
    const hook = await w.endpoint('gone')
    receiver.on(hook.path, () => new Response('unsubscribed', { status: 410 }))
    await publishEvents(w.db, [{}, {}, {}])
    await w.run()
    expect(receiver.at(hook.path)).toHaveLength(1)
    const read = await w.api.v1.webhooks[':id'].$get({ param: { id: hook.id } })
    expect(read.status === 200 && (await read.json())).toMatchObject({ enabled: false, disabledReason: 'gone' })
    expect((await w.deliveries(hook.id)).map((delivery) => delivery.status)).toEqual(['failed', 'failed', 'failed'])
    // Nothing is fanned out to it while it is disabled.
    await publishEvents(w.db, [{}])
    await w.run()
    expect(await w.deliveries(hook.id)).toHaveLength(3)
  })

  it('sends a failed delivery again on a manual retry, with the same webhook-id', async () => {
    const w = await world('wh_manual', { schedule: [0] })
    const hook = await w.endpoint('once-down')
    receiver.on(hook.path, (_request, attempt) => new Response(null, { status: attempt === 1 ? 500 : 204 }))
    const [event] = await publishEvents(w.db, [{}])
    await w.run()
    const [failed] = await w.deliveries(hook.id)
    expect(failed).toMatchObject({ status: 'failed', attempts: 1 })
    const retry = await w.api.v1.webhooks[':id'].deliveries[':deliveryId'].retry.$post({
      param: { id: hook.id, deliveryId: String(failed?._id) },
    })
    expect(retry.status).toBe(202)
    await w.workers.drain()
    expect(await w.deliveries(hook.id)).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 2 })])
    expect(receiver.at(hook.path).map((request) => request.headers['webhook-id'])).toEqual([event!.id, event!.id])
  })

  it('sends a retry the event as it is now: an erasure reaches deliveries that were waiting', async () => {
    const w = await world('wh_erased', { schedule: [0, HOUR] })
    const hook = await w.endpoint('later')
    receiver.on(hook.path, (_request, attempt) => new Response(null, { status: attempt === 1 ? 503 : 200 }))
    const [event] = await publishEvents(w.db, [{ type: 'user.created' }])
    await w.run()
    expect(JSON.parse(receiver.at(hook.path)[0]!.body).data.user).toBeDefined()
    // The erase scrubs the stored event (src/events/ does this); the delivery is still waiting.
    await w.db.collection('events').updateOne({ _id: event!.id as never }, { $set: { data: {} } })
    const [waiting] = await w.deliveries(hook.id)
    expect(waiting?.status).toBe('pending')
    await w.api.v1.webhooks[':id'].deliveries[':deliveryId'].retry.$post({
      param: { id: hook.id, deliveryId: String(waiting?._id) },
    })
    await w.workers.drain()
    const second = receiver.at(hook.path)[1]!
    expect(await verifyBoth(hook.secret, second)).toEqual({ ...event!, data: {} })
  })

  it('never sends one delivery twice from two instances racing for the same deliveries', async () => {
    const w = await world('wh_race', { concurrency: 8, perEndpoint: 8 })
    const other = createDeliveryWorkers({
      stores: (await useTestApp({ name: 'wh_race_b', sameDatabaseAs: w })).webhooks,
      send: createWebhookSender({ timeoutMs: 5000, allowPrivateTargets: true, clock: () => new Date() }),
      schedule: [0],
      timeoutMs: 5000,
      concurrency: 8,
      perEndpoint: 8,
    })
    const hook = await w.endpoint('race')
    const events = await publishEvents(
      w.db,
      Array.from({ length: 30 }, () => ({})),
    )
    await w.dispatcher.dispatch()
    await Promise.all([w.workers.drain(), other.drain()])
    const ids = receiver.at(hook.path).map((request) => request.headers['webhook-id'])
    expect(ids.sort()).toEqual(events.map((event) => event.id).sort())
  })

  /**
   * `hangingCount` endpoints whose receiver never answers (until the end) and a healthy one, with
   * `events` events: resolves once every healthy delivery succeeded, with the hanging endpoints'
   * most open requests each. The workers' bounds come from `options`.
   */
  async function beside(name: string, options: WorldOptions, hangingCount: number, events: number) {
    const w = await world(name, { timeoutMs: 60_000, ...options })
    const hanging = await Promise.all(Array.from({ length: hangingCount }, (_, n) => w.endpoint(`hanging${n}`)))
    const healthy = await w.endpoint('healthy')
    const release = Promise.withResolvers<void>()
    for (const endpoint of hanging) receiver.on(endpoint.path, () => release.promise.then(() => new Response('late')))
    await publishEvents(
      w.db,
      Array.from({ length: events }, () => ({})),
    )
    await w.dispatcher.dispatch()
    w.workers.start()
    try {
      const succeeded = async () => (await w.deliveries(healthy.id)).filter((delivery) => delivery.status === 'succeeded').length
      await waitUntil(async () => (await succeeded()) === events, 'every healthy delivery succeeded')
      expect(receiver.at(healthy.path)).toHaveLength(events)
      return hanging.map((endpoint) => ({ requests: receiver.at(endpoint.path).length, open: receiver.maxOpen(endpoint.path) }))
    } finally {
      release.resolve()
      await w.workers.stop()
    }
  }

  it('lets a hanging endpoint hold at most its share of workers while another is delivered in full', async () => {
    expect(await beside('wh_isolation', { concurrency: 4, perEndpoint: 2 }, 1, 12)).toEqual([{ requests: 2, open: 2 }])
  })

  it('delivers to a healthy endpoint in full while four others hang, with the default bounds', async () => {
    // With 16 slots in all, the four hanging endpoints' 4 each took every one (security review).
    const hanging = await beside('wh_isolation_many', {}, 4, 8)
    expect(hanging.map((endpoint) => endpoint.open)).toEqual([4, 4, 4, 4])
  })

  it('signs with the replaced secret beside the new one for 24 hours after a rotation, then with the new one only', async () => {
    let offset = 0
    const w = await world('wh_rotation', { clock: () => new Date(Date.now() + offset) })
    const fresh = await w.endpoint('fresh')
    const old = await w.endpoint('old')
    const rotate = async (id: string) => {
      const res = await w.api.v1.webhooks[':id']['rotate-secret'].$post({ param: { id } })
      if (res.status !== 200) throw new Error(`rotate failed: ${res.status}`)
      return (await res.json()).secret
    }
    const freshSecret = await rotate(fresh.id)
    offset = -(24 * HOUR + 60_000) // this rotation happened 24 h and a minute ago
    const oldSecret = await rotate(old.id)
    offset = 0
    await publishEvents(w.db, [{}])
    await w.run()

    const [toFresh] = receiver.at(fresh.path)
    expect(toFresh!.headers['webhook-signature']!.split(' ')).toHaveLength(2)
    // A receiver still holding the secret it had before the rotation verifies, and so does one with the new one.
    await verifyBoth(fresh.secret, toFresh!)
    await verifyBoth(freshSecret, toFresh!)

    const [toOld] = receiver.at(old.path)
    expect(toOld!.headers['webhook-signature']!.split(' ')).toHaveLength(1)
    await verifyBoth(oldSecret, toOld!)
    expect(() => new Webhook(old.secret).verify(toOld!.body, toOld!.headers)).toThrow()
    expect(verifyWebhook(old.secret, toOld!.headers, toOld!.body)).rejects.toMatchObject({ reason: 'bad_signature' })
  })

  it('dispatches nothing without the lease, and cannot move the cursor with a token that is no longer current', async () => {
    const w = await world('wh_fenced')
    const hook = await w.endpoint('fenced')
    await publishEvents(w.db, [{}, {}])
    const cursor = async () =>
      (await w.db.collection<{ _id: string; dispatchedThrough?: number }>('events_state').findOne({ _id: 'webhook-dispatcher' }))
        ?.dispatchedThrough ?? 0
    const before = await cursor()
    const notHolder = createWebhookDispatcher({ stores: w.webhooks, lease: { token: () => undefined }, schedule: [0] })
    expect(await notHolder.dispatch()).toBe(0)
    expect(await w.deliveries(hook.id)).toHaveLength(0)
    const stale = createWebhookDispatcher({
      stores: w.webhooks,
      lease: { token: () => (w.lease.token() ?? 0) - 1 },
      schedule: [0],
    })
    await stale.dispatch()
    expect(await cursor()).toBe(before)
    // The holder's round is unaffected: every event once.
    await w.run()
    expect(receiver.at(hook.path)).toHaveLength(2)
  })

  it('keeps only pending deliveries in the work queue, and queues again one that a crash left out', async () => {
    const w = await world('wh_queue', { schedule: [0, HOUR] })
    const hook = await w.endpoint('queue')
    receiver.on(hook.path, (request) => new Response(null, { status: JSON.parse(request.body).sequence % 2 ? 204 : 500 }))
    await publishEvents(w.db, [{}, {}, {}, {}])
    await w.run()
    const queue = w.db.collection('webhook_queue')
    const pending = (await w.deliveries(hook.id)).filter((delivery) => delivery.status === 'pending')
    expect(pending).toHaveLength(2)
    expect((await queue.find({}).toArray()).map((entry) => entry._id).sort()).toEqual(pending.map((d) => d._id).sort())

    // A crash between the log entry and its queue entry (a fan-out, a manual retry) leaves this:
    await queue.deleteOne({ _id: pending[0]!._id })
    expect(await w.webhooks.deliveries.repair(new Date(Date.now() - 60_000))).toBe(0) // too recent to be a leftover
    expect(await w.webhooks.deliveries.repair(new Date(Date.now() + 1000))).toBe(1)
    expect(await queue.findOne({ _id: pending[0]!._id })).toMatchObject({ webhookId: hook.id, attempts: 1 })
    expect(await w.webhooks.deliveries.repair(new Date(Date.now() + 1000))).toBe(0)
  })

  it('drops the deliveries of an endpoint deleted while they were waiting', async () => {
    const w = await world('wh_deleted')
    const hook = await w.endpoint('deleted')
    await publishEvents(w.db, [{}, {}])
    await w.dispatcher.dispatch()
    // The dispatcher fanned out; the endpoint is deleted before any attempt (the log and queue go with it).
    expect((await w.api.v1.webhooks[':id'].$delete({ param: { id: hook.id } })).status).toBe(204)
    await w.workers.drain()
    expect(receiver.at(hook.path)).toHaveLength(0)
    expect(await w.db.collection('webhook_queue').countDocuments({ webhookId: hook.id })).toBe(0)
  })

  it('pauses an endpoint that failed 10 attempts in a row, postponing what waits for it, until one succeeds', async () => {
    let offset = 0
    const w = await world('wh_breaker', {
      schedule: [0, 0, 0],
      perEndpoint: 1,
      workersClock: () => new Date(Date.now() + offset),
    })
    const hook = await w.endpoint('breaker')
    let up = false
    receiver.on(hook.path, () => new Response(null, { status: up ? 204 : 503 }))
    await publishEvents(
      w.db,
      Array.from({ length: 30 }, () => ({})),
    )
    const before = Date.now()
    await w.run()
    // Without the breaker: 30 deliveries × 3 attempts. With it: 10 failures, then nothing is due.
    expect(receiver.at(hook.path)).toHaveLength(10)
    const queue = await w.db.collection('webhook_queue').find({ webhookId: hook.id }).toArray()
    expect(queue).toHaveLength(30)
    for (const entry of queue) expect((entry.nextAttemptAt as Date).getTime()).toBeGreaterThanOrEqual(before + 1000)
    // The pause ends; the endpoint answers again, and every delivery goes through.
    up = true
    offset = 2000
    await w.workers.drain()
    const statuses = (await w.deliveries(hook.id)).map((delivery) => delivery.status)
    expect(statuses.filter((status) => status === 'succeeded')).toHaveLength(30)
  })

  it("forgets, on the user's erase, what receivers answered about its events (they may echo its values)", async () => {
    const w = await world('wh_forget', { schedule: [0, HOUR] })
    const hook = await w.endpoint('echo')
    receiver.on(hook.path, (request) => new Response(`cannot take ${request.body}`, { status: 500 }))
    const user = await w.createUser()
    await publishEvents(w.db, [{ type: 'user.created', userId: user.id, data: { user } }])
    await w.run()
    const log = w.db.collection('webhook_deliveries')
    expect(JSON.stringify(await log.find({ webhookId: hook.id }).toArray())).toContain(user.email)
    expect((await w.api.v1.users[':id'].erase.$post({ param: { id: user.id } })).status).toBe(204)
    const [delivery] = await w.deliveries(hook.id)
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, recentAttempts: [] })
    expect(JSON.stringify(await log.find({}).toArray())).not.toContain(user.email)
  })
})
