import { afterAll, describe, expect, it } from 'bun:test'
import type { Lease } from '../src/db/lease'
import { createMetrics } from '../src/observability/metrics'
import { createWebhookDispatcher } from '../src/webhooks/webhooks.dispatcher'
import { reportAttempt } from '../src/webhooks/webhooks.runner'
import { createWebhookSender } from '../src/webhooks/webhooks.sender'
import { createDeliveryWorkers } from '../src/webhooks/webhooks.workers'
import { captureLogger } from './helpers/context'
import { publishEvents, startReceiver, useWebhooksTestApp } from './helpers/webhooks'

/**
 * What the service makes of each webhook attempt (src/webhooks/webhooks.runner.ts, reportAttempt):
 * counted in the metrics by outcome class and reason, and logged when it failed, with nothing of
 * what the receiver answered. Real attempts: the sender, the dispatcher on a real lease, and a
 * receiver on 127.0.0.1 whose answers echo a user's email (as a careless receiver's error page might).
 */
const receiver = startReceiver()
const leases: Lease[] = []
const ECHO = 'echoed.person@example.com'

afterAll(async () => {
  await Promise.all(leases.map((lease) => lease.stop()))
  receiver.stop()
})

async function world(name: string, options: { schedule: number[]; perEndpoint?: number; timeoutMs?: number }) {
  const { app, lease } = await useWebhooksTestApp(name, leases)
  const metrics = createMetrics({ webhooksWaiting: () => app.webhooks.deliveries.waiting() })
  const logger = captureLogger()
  const timeoutMs = options.timeoutMs ?? 5000
  const dispatcher = createWebhookDispatcher({ stores: app.webhooks, lease, schedule: options.schedule })
  const workers = createDeliveryWorkers({
    stores: app.webhooks,
    send: createWebhookSender({ timeoutMs, allowPrivateTargets: true, clock: () => new Date() }),
    schedule: options.schedule,
    timeoutMs,
    random: () => 0,
    onAttempt: reportAttempt(logger, metrics),
    ...(options.perEndpoint ? { perEndpoint: options.perEndpoint } : {}),
  })
  const endpoint = async (url: string) => {
    const res = await app.api.v1.webhooks.$post({ json: { url } as never })
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
    return (await res.json()).id
  }
  const run = async () => {
    await dispatcher.dispatch()
    await workers.drain()
  }
  /** The value of one series in the exposition text; 0 when it is not there. */
  const sample = Object.assign(
    async (series: string) => {
      const line = (await metrics.render()).split('\n').find((candidate) => candidate.startsWith(`${series} `))
      return line ? Number(line.slice(series.length + 1)) : 0
    },
    { text: () => metrics.render() },
  )
  return {
    app,
    logger,
    dispatcher,
    workers,
    endpoint,
    run,
    sample,
    metricsText: () => metrics.render(),
    path: (suffix: string) => `/${name}/${suffix}`,
  }
}

describe('webhook attempts in the metrics and the logs', () => {
  it('counts every attempt by outcome, with its duration, and the deliveries that ran out of attempts', async () => {
    const w = await world('whm_outcomes', { schedule: [0, 0, 0] })
    receiver.on(w.path('flaky'), (_request, attempt) => new Response(`no ${ECHO}`, { status: attempt <= 2 ? 500 : 200 }))
    receiver.on(w.path('down'), () => new Response(`down for ${ECHO}`, { status: 503 }))
    const ids = [
      await w.endpoint(receiver.url(w.path('flaky'))),
      await w.endpoint(receiver.url(w.path('down'))),
      // Nothing listens on port 9 (discard): every attempt is refused.
      await w.endpoint('http://127.0.0.1:9/refused'),
    ]
    const [event] = await publishEvents(w.app.db, [{}])
    await w.run()

    expect(await w.sample('webhook_attempts_total{outcome="delivered"}')).toBe(1)
    expect(await w.sample('webhook_attempts_total{outcome="http_status"}')).toBe(2 + 3)
    expect(await w.sample('webhook_attempts_total{outcome="connection"}')).toBe(3)
    expect(await w.sample('webhook_attempt_duration_seconds_count')).toBe(9)
    expect(await w.sample('webhook_deliveries_failed_total{reason="exhausted"}')).toBe(2)
    expect(await w.sample('webhook_deliveries_failed_total{reason="gone"}')).toBe(0)

    // The failures are logged (8 of them), with ids and classes and never the receiver's answer.
    const failures = w.logger.lines.filter((line) => line.message?.startsWith('webhook'))
    expect(failures).toHaveLength(8)
    expect(failures[0]?.object).toMatchObject({ errorClass: expect.any(String), durationMs: expect.any(Number) })
    expect(JSON.stringify(w.logger.lines)).not.toContain(ECHO)
    expect(await w.sample('webhook_endpoints_disabled_total')).toBe(0)
    // No label names an endpoint, its URL, or the event: outcome classes and reasons only.
    const text = await w.sample.text()
    for (const value of [...ids, event!.id, '127.0.0.1', w.path('down')]) expect(text).not.toContain(value)
  })

  it('counts a 410 once, with the endpoint it disabled and every delivery it failed', async () => {
    const w = await world('whm_gone', { schedule: [0, 0, 0], perEndpoint: 1 })
    receiver.on(w.path('gone'), () => new Response(`unsubscribed ${ECHO}`, { status: 410 }))
    await w.endpoint(receiver.url(w.path('gone')))
    await publishEvents(w.app.db, [{}, {}, {}])
    await w.run()

    expect(receiver.at(w.path('gone'))).toHaveLength(1)
    expect(await w.sample('webhook_attempts_total{outcome="gone"}')).toBe(1)
    expect(await w.sample('webhook_endpoints_disabled_total')).toBe(1)
    // The one sent and the two that were waiting for it.
    expect(await w.sample('webhook_deliveries_failed_total{reason="gone"}')).toBe(3)
    expect(JSON.stringify(w.logger.lines)).not.toContain(ECHO)
  })

  it('shows how many deliveries are queued, and NaN while the database does not answer, at once', async () => {
    const w = await world('whm_waiting', { schedule: [0] })
    receiver.on(w.path('ok'), () => new Response(null, { status: 204 }))
    await w.endpoint(receiver.url(w.path('ok')))
    await w.endpoint(receiver.url(w.path('ok')))
    await publishEvents(w.app.db, [{}, {}, {}])
    expect(await w.metricsText()).toMatch(/^webhook_deliveries_waiting 0$/m)
    await w.dispatcher.dispatch()
    expect(await w.sample('webhook_deliveries_waiting')).toBe(6)
    await w.workers.drain()
    expect(await w.sample('webhook_deliveries_waiting')).toBe(0)

    // The scrape still answers while the database does not: NaN, not the last figure.
    let up = true
    const flaky = createMetrics({
      webhooksWaiting: () => (up ? Promise.resolve(4) : Promise.reject(new Error('database unavailable'))),
    })
    expect(await flaky.render()).toMatch(/^webhook_deliveries_waiting 4$/m)
    up = false
    expect(await flaky.render()).toMatch(/^webhook_deliveries_waiting nan$/im)
    // A database that does not answer at all: the scrape still answers, after the 1 s bound.
    const hung = createMetrics({ webhooksWaiting: () => new Promise<number>(() => {}) })
    expect(await hung.render()).toMatch(/^webhook_deliveries_waiting nan$/im)
  })

  it('counts a timeout as its own outcome', async () => {
    const w = await world('whm_timeout', { schedule: [0], timeoutMs: 200 })
    receiver.on(w.path('slow'), async () => {
      await Bun.sleep(3000)
      return new Response('late')
    })
    await w.endpoint(receiver.url(w.path('slow')))
    await publishEvents(w.app.db, [{}])
    await w.run()

    expect(await w.sample('webhook_attempts_total{outcome="timeout"}')).toBe(1)
    expect(await w.sample('webhook_deliveries_failed_total{reason="exhausted"}')).toBe(1)
    // Cut at the 200 ms timeout, not at the receiver's 3 s (room for a late timer on a loaded machine).
    expect(await w.sample('webhook_attempt_duration_seconds_bucket{le="0.1"}')).toBe(0)
    expect(await w.sample('webhook_attempt_duration_seconds_bucket{le="2.5"}')).toBe(1)
  })
})
