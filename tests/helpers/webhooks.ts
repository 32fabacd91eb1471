import type { Db } from 'mongodb'
import { Webhook } from 'standardwebhooks'
import { testConfig } from '../../src/config'
import { createLease, type Lease } from '../../src/db/lease'
import { newEventId } from '../../src/events/events.ids'
import type { ChangeEvent, EventType } from '../../src/events/events.schemas'
import { verifyWebhook } from '../../src/events/events.verify'
import type { WebhookStores } from '../../src/webhooks/webhooks.model'
import { createWebhookSender } from '../../src/webhooks/webhooks.sender'
import { createDeliveryWorkers, type DeliveryWorkersDeps } from '../../src/webhooks/webhooks.workers'
import { useTestApp } from './context'

/**
 * Webhook test pieces: events published as the relay publishes them (inserted into `events`, then
 * the watermark moved), and a local receiver whose behaviour each test sets per path.
 */

export type PublishedEvent = ChangeEvent

/** A user id (24 hex digits, as an ObjectId's) for test events. */
export function userId(): string {
  return crypto.randomUUID().replaceAll('-', '').slice(0, 24)
}

/**
 * Appends events after the current watermark, as the relay does: inserts the documents (`_id` =
 * id), then moves `visibleThrough` in `events_state`. Returns them as the feed shows them.
 */
export async function publishEvents(
  db: Db,
  specs: { type?: EventType; userId?: string; data?: Record<string, unknown> }[],
  options: { visible?: boolean } = {},
): Promise<PublishedEvent[]> {
  const state = db.collection<{ _id: string; visibleThrough?: number; lastSequence?: number }>('events_state')
  const relay = await state.findOne({ _id: 'relay' })
  const last = relay?.lastSequence ?? relay?.visibleThrough ?? 0
  const now = new Date()
  const documents = specs.map((spec, i) => {
    const type = spec.type ?? 'user.updated'
    const owner = spec.userId ?? userId()
    return {
      _id: newEventId(now),
      sequence: last + i + 1,
      type,
      occurredAt: now,
      userId: owner,
      userVersion: 1,
      data: spec.data ?? (type === 'user.erased' ? {} : { user: { id: owner, username: `u${last + i + 1}` } }),
    }
  })
  if (documents.length > 0) await db.collection('events').insertMany(documents as never[])
  const through = last + documents.length
  await state.updateOne(
    { _id: 'relay' },
    { $set: { lastSequence: through, ...(options.visible === false ? {} : { visibleThrough: through }) } },
    { upsert: true },
  )
  return documents.map(({ _id, occurredAt, ...rest }) => ({
    id: _id,
    type: rest.type,
    sequence: rest.sequence,
    occurredAt: occurredAt.toISOString(),
    userId: rest.userId,
    userVersion: rest.userVersion,
    data: rest.data,
  })) as PublishedEvent[]
}

/** Moves the watermark to `through` (events inserted with visible: false become readable). */
export async function makeVisible(db: Db, through: number): Promise<void> {
  await db.collection<{ _id: string }>('events_state').updateOne({ _id: 'relay' }, { $set: { visibleThrough: through } })
}

export type Received = { path: string; headers: Record<string, string>; body: string; at: number }
export type Behaviour = (request: Received, attempt: number) => Response | Promise<Response>

/**
 * An HTTP receiver on 127.0.0.1: each path answers as its behaviour says (200 by default); every
 * request is kept, with the attempt number per webhook-id and path.
 */
export function startReceiver() {
  const received: Received[] = []
  const behaviours = new Map<string, Behaviour>()
  const attempts = new Map<string, number>()
  const open = new Map<string, number>()
  const maxOpen = new Map<string, number>()
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname
      const entry: Received = { path, headers: Object.fromEntries(request.headers), body: await request.text(), at: Date.now() }
      received.push(entry)
      const key = `${path} ${entry.headers['webhook-id']}`
      const attempt = (attempts.get(key) ?? 0) + 1
      attempts.set(key, attempt)
      open.set(path, (open.get(path) ?? 0) + 1)
      maxOpen.set(path, Math.max(maxOpen.get(path) ?? 0, open.get(path) ?? 0))
      try {
        return await (behaviours.get(path) ?? (() => new Response('ok')))(entry, attempt)
      } finally {
        open.set(path, (open.get(path) ?? 1) - 1)
      }
    },
  })
  return {
    url: (path: string) => `http://127.0.0.1:${server.port}${path}`,
    received,
    /** Requests to `path`, in arrival order. */
    at: (path: string) => received.filter((entry) => entry.path === path),
    on: (path: string, behaviour: Behaviour) => void behaviours.set(path, behaviour),
    /** The most requests to `path` that were open at once. */
    maxOpen: (path: string) => maxOpen.get(path) ?? 0,
    stop: () => server.stop(true),
  }
}

/**
 * Verifies a received webhook with both verifiers a consumer would use: the `standardwebhooks`
 * package (the reference implementation) and the client package's verifyWebhook. Returns the
 * event verifyWebhook gives; throws if either refuses.
 */
export async function verifyBoth(secret: string, received: Received): Promise<ChangeEvent> {
  const reference = new Webhook(secret).verify(received.body, received.headers) as { id: string }
  const event = await verifyWebhook(secret, received.headers, received.body)
  if (reference.id !== event.id) throw new Error('the two verifiers disagree')
  return event
}

/** Waits (bounded, polling) until `condition` holds; throws naming `what` if it never does. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return
    await Bun.sleep(10)
  }
  throw new Error(`timed out waiting until ${what}`)
}

/**
 * A test app that may deliver to loopback receivers (WEBHOOK_ALLOW_PRIVATE_TARGETS), and the
 * webhook dispatcher's lease, held when this resolves; pushed onto `leases`, which the file stops
 * after its tests. `clock` is the app's and its stores'; `secretKeys`, WEBHOOK_SECRET_KEYS's.
 */
export async function useWebhooksTestApp(name: string, leases: Lease[], clock?: () => Date, secretKeys: Uint8Array[] = []) {
  const base = testConfig()
  const config = { ...base, webhooks: { ...base.webhooks, allowPrivateTargets: true, secretKeys } }
  const app = await useTestApp({ name, deps: { config }, ...(clock ? { clock } : {}) })
  const lease = createLease(app.database, {
    collection: 'events_state',
    name: 'webhook-dispatcher',
    ttlMs: 10_000,
    renewEveryMs: 1000,
  })
  leases.push(lease)
  lease.start()
  await waitUntil(() => lease.held(), 'the dispatcher lease is held')
  return { app, lease }
}

/**
 * Delivery workers as the tests run them: sending for real to loopback receivers (5 s timeout),
 * no retry jitter; `options` set the rest (clock, polls, bounds).
 */
export function loopbackWorkers(stores: WebhookStores, schedule: number[], options: Partial<DeliveryWorkersDeps> = {}) {
  return createDeliveryWorkers({
    stores,
    send: createWebhookSender({ timeoutMs: 5000, allowPrivateTargets: true, clock: () => new Date() }),
    schedule,
    timeoutMs: 5000,
    random: () => 0,
    ...options,
  })
}
