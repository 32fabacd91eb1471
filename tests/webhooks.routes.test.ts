import { describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import { newDeliveryId } from '../src/events/events.ids'
import { isWebhookSecret } from '../src/webhooks/webhooks.signing'
import { useTestApp } from './helpers/context'
import { expectProblem, pointers } from './helpers/problem'
import { publishEvents } from './helpers/webhooks'

/**
 * Webhook management (API.md, "Change events"): create with the secret shown once, the target
 * policy, the cap, reads without secrets, merge patches, delete, rotation, the deliveries log and
 * manual retries. Delivery itself is tests/webhooks.delivery.test.ts's.
 */
const t = await useTestApp({ name: 'webhooks_routes' })
const hooks = t.api.v1.webhooks
const MISSING = 'wh_01JD8Z3N5W7QK2XH9V4T6RBM0C'
let deliveryClock = 0

async function createEndpoint(body: Record<string, unknown> = {}) {
  const res = await hooks.$post({ json: { url: 'https://hooks.example.com/in', ...body } as never })
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
  return res.json()
}

/** The deliveries the dispatcher would make, inserted directly (one per event, in order). */
async function deliveriesFor(webhookId: string, count: number, status = 'pending') {
  const events = await publishEvents(
    t.db,
    Array.from({ length: count }, () => ({})),
  )
  const now = Date.now() + deliveryClock++ * 1000
  // Real delivery ids (ULIDs), from increasing times, so which is newest is certain.
  const documents = events.map((event, i) => ({
    _id: newDeliveryId(new Date(now + i)),
    webhookId,
    eventId: event.id,
    eventType: event.type,
    sequence: event.sequence,
    status,
    attempts: status === 'pending' ? 0 : 1,
    ...(status === 'pending' ? { nextAttemptAt: new Date(now + 3_600_000) } : {}),
    recentAttempts: [],
    createdAt: new Date(now),
    updatedAt: new Date(now),
  }))
  await t.db.collection('webhook_deliveries').insertMany(documents as never[])
  return documents.map((document) => document._id)
}

/** The secrets an endpoint keeps, current first. */
async function storedSecrets(id: string): Promise<string[]> {
  const stored = await t.db.collection<{ _id: string; secrets: { secret: string }[] }>('webhooks').findOne({ _id: id })
  return (stored?.secrets ?? []).map((entry) => entry.secret)
}

describe('POST /v1/webhooks', () => {
  it('returns 201 with the endpoint, its Location and a whsec_ secret shown only there', async () => {
    const res = await hooks.$post({
      json: { url: 'https://hooks.example.com/users?via=svc', types: ['user.created', 'user.erased'], description: ' billing ' },
    })
    expect(res.status).toBe(201)
    if (res.status !== 201) return
    const created = await res.json()
    expect(created).toMatchObject({
      url: 'https://hooks.example.com/users?via=svc',
      types: ['user.created', 'user.erased'],
      description: 'billing',
      enabled: true,
    })
    expect(created.id).toMatch(/^wh_[0-9A-HJKMNP-TV-Z]{26}$/)
    expect(isWebhookSecret(created.secret)).toBe(true)
    expect(res.headers.get('location')).toBe(`/v1/webhooks/${created.id}`)
    const read = await hooks[':id'].$get({ param: { id: created.id } })
    expect(read.status).toBe(200)
    const body = await read.text()
    expect(body).not.toContain(created.secret)
    expect(JSON.parse(body)).not.toHaveProperty('secret')
  })

  it('stores the URL as parsed (host lower-cased, default port dropped)', async () => {
    const created = await createEndpoint({ url: 'https://HOOKS.Example.COM:443/In' })
    expect(created.url).toBe('https://hooks.example.com/In')
  })

  it.each([
    ['http://hooks.example.com/in', 'scheme_not_allowed'],
    ['https://10.0.0.7/in', 'private_address'],
    ['https://169.254.169.254/latest/meta-data', 'private_address'],
    ['https://[::1]/in', 'private_address'],
    ['https://2130706433/in', 'private_address'],
    ['https://localhost/in', 'private_name'],
    ['https://metadata.internal/in', 'private_name'],
  ])('returns 400 at /url for %s (%s) unless private targets are allowed', async (url, code) => {
    const res = await hooks.$post({ json: { url } })
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(problem.errors).toEqual([expect.objectContaining({ location: 'body', pointer: '/url', code })])
    expect((await hooks.$get()).status).toBe(200)
  })

  it('returns 400 for what no URL policy allows: credentials, a fragment, not a URL', async () => {
    for (const url of ['https://user:pw@hooks.example.com/', 'https://hooks.example.com/#x', 'hooks.example.com']) {
      const problem = await expectProblem(await hooks.$post({ json: { url } }), 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['body:/url'])
    }
  })

  it('returns 400 for repeated or empty types and unknown fields', async () => {
    const repeated = await hooks.$post({ json: { url: 'https://a.example.com/', types: ['user.created', 'user.created'] } })
    expect(pointers(await expectProblem(repeated, 400, 'validation_failed'))).toEqual(['body:/types'])
    const empty = await hooks.$post({ json: { url: 'https://a.example.com/', types: [] } })
    expect(pointers(await expectProblem(empty, 400, 'validation_failed'))).toEqual(['body:/types'])
    const unknown = await t.raw('/v1/webhooks', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://a.example.com/', secret: 'whsec_mine' }),
    })
    expect(pointers(await expectProblem(unknown, 400, 'validation_failed'))).toEqual(['body:/secret'])
  })
})

describe('POST /v1/webhooks with WEBHOOK_ALLOW_PRIVATE_TARGETS=true', () => {
  it('accepts http:// and loopback targets', async () => {
    const base = testConfig()
    const local = await useTestApp({
      name: 'webhooks_private',
      deps: { config: { ...base, webhooks: { ...base.webhooks, allowPrivateTargets: true } } },
    })
    const res = await local.api.v1.webhooks.$post({ json: { url: 'http://127.0.0.1:8080/hook' } })
    expect(res.status).toBe(201)
  })
})

describe('the endpoint cap', () => {
  it('returns 409 webhook_limit_reached past 20 endpoints, even for creates racing each other', async () => {
    const capped = await useTestApp({ name: 'webhooks_cap' })
    const results = await Promise.all(
      Array.from({ length: 26 }, (_, i) => capped.api.v1.webhooks.$post({ json: { url: `https://h${i}.example.com/` } })),
    )
    expect(results.filter((res) => res.status === 201)).toHaveLength(20)
    const refused = results.filter((res) => res.status !== 201)
    expect(refused).toHaveLength(6)
    for (const res of refused) await expectProblem(res, 409, 'webhook_limit_reached')
    const list = await capped.api.v1.webhooks.$get()
    expect(list.status === 200 && (await list.json()).items).toHaveLength(20)
    // Deleting one frees its place.
    const first = (await (await capped.api.v1.webhooks.$get()).json()) as { items: { id: string }[] }
    expect((await capped.api.v1.webhooks[':id'].$delete({ param: { id: first.items[0]!.id } })).status).toBe(204)
    expect((await capped.api.v1.webhooks.$post({ json: { url: 'https://again.example.com/' } })).status).toBe(201)
  })
})

describe('the webhooks:manage scope', () => {
  it('is needed for every webhook route: a users:admin key gets 403 naming it', async () => {
    const key = `usk_${randomBytes(24).toString('base64url')}`
    const guarded = await useTestApp({
      name: 'webhooks_scope',
      deps: {
        authenticator: createAuthenticator({
          apiKeys: [
            {
              name: 'admin',
              sha256: createHash('sha256').update(key).digest('hex'),
              scopes: ['users:read', 'users:write', 'users:admin'],
            },
          ],
          jwt: undefined,
        }),
      },
    })
    const headers = { authorization: `Bearer ${key}` }
    for (const [method, path] of [
      ['GET', '/v1/webhooks'],
      ['POST', '/v1/webhooks'],
      ['GET', `/v1/webhooks/${MISSING}`],
      ['DELETE', `/v1/webhooks/${MISSING}`],
      ['POST', `/v1/webhooks/${MISSING}/rotate-secret`],
      ['GET', `/v1/webhooks/${MISSING}/deliveries`],
    ] as const) {
      const problem = await expectProblem(await guarded.raw(path, { method, headers }), 403, 'forbidden')
      expect(problem.detail).toContain('webhooks:manage')
    }
  })
})

describe('GET /v1/webhooks and GET /v1/webhooks/{id}', () => {
  it('lists endpoints oldest first, without secrets', async () => {
    const a = await createEndpoint({ description: 'first of the list' })
    const b = await createEndpoint({ description: 'second of the list' })
    const res = await hooks.$get()
    expect(res.status).toBe(200)
    if (res.status !== 200) return
    const { items } = await res.json()
    const ids = items.map((item) => item.id)
    expect(ids.indexOf(a.id)).toBeLessThan(ids.indexOf(b.id))
    expect(JSON.stringify(items)).not.toContain('whsec_')
  })

  it('returns 404 webhook_not_found for an unknown id and 400 for a malformed one', async () => {
    await expectProblem(await hooks[':id'].$get({ param: { id: MISSING } }), 404, 'webhook_not_found')
    const malformed = await hooks[':id'].$get({ param: { id: 'wh_nope' } })
    expect(pointers(await expectProblem(malformed, 400, 'validation_failed'))).toEqual(['path:/id'])
  })
})

describe('PATCH /v1/webhooks/{id}', () => {
  it('changes the fields sent, removes those sent as null, and keeps the rest', async () => {
    const created = await createEndpoint({ types: ['user.created'], description: 'to change' })
    const res = await hooks[':id'].$patch({
      param: { id: created.id },
      json: { url: 'https://other.example.com/x', types: null, description: null },
    })
    expect(res.status).toBe(200)
    const updated = await res.json()
    expect(updated).toMatchObject({ id: created.id, url: 'https://other.example.com/x', enabled: true })
    expect(updated).not.toHaveProperty('types')
    expect(updated).not.toHaveProperty('description')
    expect(Date.parse((updated as { updatedAt: string }).updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt))
  })

  it('checks a new URL as the create does, and changes nothing when it is refused', async () => {
    const created = await createEndpoint()
    const res = await hooks[':id'].$patch({ param: { id: created.id }, json: { url: 'https://192.168.1.1/' } })
    expect(pointers(await expectProblem(res, 400, 'validation_failed'))).toEqual(['body:/url'])
    const read = await hooks[':id'].$get({ param: { id: created.id } })
    expect(read.status === 200 && (await read.json()).url).toBe(created.url)
  })

  it('fails pending deliveries when disabling, and starts from the feed of now when enabled again', async () => {
    const created = await createEndpoint()
    const [pending] = await deliveriesFor(created.id, 1)
    const off = await hooks[':id'].$patch({ param: { id: created.id }, json: { enabled: false } })
    expect(off.status === 200 && (await off.json()).enabled).toBe(false)
    const delivery = await t.db.collection('webhook_deliveries').findOne({ _id: pending as never })
    expect(delivery).toMatchObject({ status: 'failed' })
    // Events while it is off are not for it: its starting point moves to the watermark of the enable.
    const [during] = await publishEvents(t.db, [{}])
    const on = await hooks[':id'].$patch({ param: { id: created.id }, json: { enabled: true } })
    expect(on.status === 200 && (await on.json()).enabled).toBe(true)
    const stored = await t.db.collection('webhooks').findOne({ _id: created.id as never })
    expect(stored).toMatchObject({ startAfterSequence: during!.sequence, catchUp: true })
  })

  it('clears disabledReason when an endpoint the service disabled is enabled again', async () => {
    const created = await createEndpoint()
    await t.db
      .collection('webhooks')
      .updateOne({ _id: created.id as never }, { $set: { enabled: false, disabledReason: 'gone' } })
    const read = await hooks[':id'].$get({ param: { id: created.id } })
    expect(read.status === 200 && (await read.json()).disabledReason).toBe('gone')
    const res = await hooks[':id'].$patch({ param: { id: created.id }, json: { enabled: true } })
    const enabled = await res.json()
    expect(enabled).toMatchObject({ enabled: true })
    expect(enabled).not.toHaveProperty('disabledReason')
  })

  it('returns 404 for an unknown endpoint and 400 for an empty patch', async () => {
    await expectProblem(await hooks[':id'].$patch({ param: { id: MISSING }, json: { enabled: false } }), 404, 'webhook_not_found')
    const created = await createEndpoint()
    await expectProblem(await hooks[':id'].$patch({ param: { id: created.id }, json: {} }), 400, 'validation_failed')
  })
})

describe('entity tags on webhook endpoints', () => {
  const raw = (path: string, init: RequestInit = {}) => t.raw(`/v1/webhooks${path}`, init)
  const patch = (id: string, body: unknown, headers: Record<string, string> = {}) =>
    raw(`/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', ...headers },
      body: JSON.stringify(body),
    })

  it('gives the version as an ETag on create, read and update; a stale If-Match is 412 and changes nothing', async () => {
    // Two administrators editing one endpoint: the second, holding an old copy, must not overwrite the first.
    const created = await hooks.$post({ json: { url: 'https://hooks.example.com/etag' } })
    expect(created.headers.get('etag')).toBe('"1"')
    const { id } = (await created.json()) as { id: string }
    expect((await raw(`/${id}`)).headers.get('etag')).toBe('"1"')
    const first = await patch(id, { description: 'first' }, { 'If-Match': '"1"' })
    expect(first.status).toBe(200)
    expect(first.headers.get('etag')).toBe('"2"')
    const second = await patch(id, { description: 'second' }, { 'If-Match': '"1"' })
    await expectProblem(second, 412, 'precondition_failed')
    expect(second.headers.get('etag')).toBe('"2"')
    expect(((await (await raw(`/${id}`)).json()) as { description?: string }).description).toBe('first')
    await expectProblem(await patch(id, { description: 'x' }, { 'If-Match': 'garbage' }), 400, 'validation_failed')
    expect((await patch(id, { description: 'any' }, { 'If-Match': '*' })).status).toBe(200)
  })

  it('refuses a stale If-Match on DELETE and rotate-secret, deleting and rotating nothing; a current one goes through', async () => {
    const { id } = (await createEndpoint()) as { id: string }
    const before = await storedSecrets(id)
    await expectProblem(
      await raw(`/${id}/rotate-secret`, { method: 'POST', headers: { 'If-Match': '"7"' } }),
      412,
      'precondition_failed',
    )
    expect(await storedSecrets(id)).toEqual(before)
    await expectProblem(await raw(`/${id}`, { method: 'DELETE', headers: { 'If-Match': '"7"' } }), 412, 'precondition_failed')
    expect((await raw(`/${id}`)).status).toBe(200)
    const rotated = await raw(`/${id}/rotate-secret`, { method: 'POST', headers: { 'If-Match': '"1"' } })
    expect(rotated.status).toBe(200)
    // The new version, for the next If-Match, without a read in between.
    expect(rotated.headers.get('etag')).toBe('"2"')
    expect((await raw(`/${id}`)).headers.get('etag')).toBe('"2"')
    expect((await raw(`/${id}`, { method: 'DELETE', headers: { 'If-Match': '"2"' } })).status).toBe(204)
    await expectProblem(await raw(`/${id}`), 404, 'webhook_not_found')
  })
})

describe('DELETE /v1/webhooks/{id}', () => {
  it('returns 204, then the endpoint and its deliveries are gone', async () => {
    const created = await createEndpoint()
    await deliveriesFor(created.id, 2, 'succeeded')
    expect((await hooks[':id'].$delete({ param: { id: created.id } })).status).toBe(204)
    await expectProblem(await hooks[':id'].$get({ param: { id: created.id } }), 404, 'webhook_not_found')
    expect(await t.db.collection('webhook_deliveries').countDocuments({ webhookId: created.id })).toBe(0)
    await expectProblem(await hooks[':id'].$delete({ param: { id: created.id } }), 404, 'webhook_not_found')
  })
})

describe('POST /v1/webhooks/{id}/rotate-secret', () => {
  it('returns a new secret; the replaced one signs beside it for 24 hours', async () => {
    const created = await createEndpoint()
    const before = Date.now()
    const res = await hooks[':id']['rotate-secret'].$post({ param: { id: created.id } })
    expect(res.status).toBe(200)
    if (res.status !== 200) return
    const rotated = await res.json()
    expect(isWebhookSecret(rotated.secret)).toBe(true)
    expect(rotated.secret).not.toBe(created.secret)
    const expires = Date.parse(rotated.previousSecretExpiresAt)
    expect(expires).toBeGreaterThanOrEqual(before + 24 * 3_600_000)
    expect(expires).toBeLessThanOrEqual(Date.now() + 24 * 3_600_000)
    const read = await hooks[':id'].$get({ param: { id: created.id } })
    expect(read.status === 200 && (await read.json()).previousSecretExpiresAt).toBe(rotated.previousSecretExpiresAt)
    expect(await storedSecrets(created.id)).toEqual([rotated.secret, created.secret])
  })

  it('keeps only the newest replaced secret after two rotations', async () => {
    const created = await createEndpoint()
    await hooks[':id']['rotate-secret'].$post({ param: { id: created.id } })
    const second = await hooks[':id']['rotate-secret'].$post({ param: { id: created.id } })
    const secret = second.status === 200 ? (await second.json()).secret : ''
    const stored = await storedSecrets(created.id)
    expect(stored).toHaveLength(2)
    expect(stored[0]).toBe(secret)
    expect(stored).not.toContain(created.secret)
  })

  it('returns 400 for a body and 404 for an unknown endpoint', async () => {
    const created = await createEndpoint()
    const withBody = await t.raw(`/v1/webhooks/${created.id}/rotate-secret`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"secret":"mine"}',
    })
    await expectProblem(withBody, 400, 'validation_failed')
    await expectProblem(await hooks[':id']['rotate-secret'].$post({ param: { id: MISSING } }), 404, 'webhook_not_found')
  })
})

describe('GET /v1/webhooks/{id}/deliveries', () => {
  it('pages newest first, filters by status, and ends with a null cursor', async () => {
    const created = await createEndpoint()
    const pending = await deliveriesFor(created.id, 3)
    const failed = await deliveriesFor(created.id, 2, 'failed')
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const res = await hooks[':id'].deliveries.$get({
        param: { id: created.id },
        query: { limit: '2', ...(cursor ? { cursor } : {}) },
      })
      expect(res.status).toBe(200)
      if (res.status !== 200) return
      const page = await res.json()
      expect(page.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.items.map((item) => item.id))
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    expect(seen).toEqual([...pending, ...failed].reverse())
    const onlyFailed = await hooks[':id'].deliveries.$get({ param: { id: created.id }, query: { status: 'failed' } })
    const items = onlyFailed.status === 200 ? (await onlyFailed.json()).items : []
    expect(items.map((item) => item.id)).toEqual([...failed].reverse())
    expect(items[0]).toMatchObject({ webhookId: created.id, status: 'failed', attempts: 1, recentAttempts: [] })
    expect(items[0]).not.toHaveProperty('nextAttemptAt')
  })

  it('returns 400 at the cursor for one it did not issue, and 404 for an unknown endpoint', async () => {
    const created = await createEndpoint()
    const [delivery] = await deliveriesFor(created.id, 1)
    // A bare delivery id, even a real one, is not a cursor (a consumer's review: it was taken as one).
    for (const cursor of ['dlv_nope', delivery as string, 'dlv_00000000000000000000000000']) {
      const bad = await hooks[':id'].deliveries.$get({ param: { id: created.id }, query: { cursor } })
      expect(pointers(await expectProblem(bad, 400, 'validation_failed'))).toEqual(['query:/cursor'])
    }
    await expectProblem(await hooks[':id'].deliveries.$get({ param: { id: MISSING }, query: {} }), 404, 'webhook_not_found')
  })

  it("refuses a cursor from another endpoint's list or another status filter (cursor_mismatch)", async () => {
    const created = await createEndpoint()
    await deliveriesFor(created.id, 3, 'failed')
    const first = await hooks[':id'].deliveries.$get({ param: { id: created.id }, query: { limit: '1' } })
    const cursor = first.status === 200 ? (await first.json()).nextCursor : null
    expect(cursor).toEqual(expect.any(String))
    const elsewhere = [
      // Another endpoint's list (the cursor is checked first: this test adds no endpoint, there are at most 20).
      { id: MISSING, query: { cursor: cursor as string } },
      { id: created.id, query: { cursor: cursor as string, status: 'failed' as const } },
    ]
    for (const { id, query } of elsewhere) {
      const refused = await expectProblem(await hooks[':id'].deliveries.$get({ param: { id }, query }), 400, 'validation_failed')
      expect(refused.errors).toEqual([expect.objectContaining({ pointer: '/cursor', code: 'cursor_mismatch' })])
    }
    const next = await hooks[':id'].deliveries.$get({
      param: { id: created.id },
      query: { limit: '1', cursor: cursor as string },
    })
    expect(next.status).toBe(200)
  })
})

describe('POST /v1/webhooks/{id}/deliveries/{deliveryId}/retry', () => {
  it('returns 202 with the delivery pending and due now', async () => {
    const created = await createEndpoint()
    const [id] = await deliveriesFor(created.id, 1, 'failed')
    const before = Date.now()
    const res = await hooks[':id'].deliveries[':deliveryId'].retry.$post({ param: { id: created.id, deliveryId: id! } })
    expect(res.status).toBe(202)
    if (res.status !== 202) return
    const delivery = await res.json()
    expect(delivery).toMatchObject({ id, status: 'pending', attempts: 1 })
    expect(Date.parse(delivery.nextAttemptAt ?? '')).toBeGreaterThanOrEqual(before - 1000)
    expect(Date.parse(delivery.nextAttemptAt ?? '')).toBeLessThanOrEqual(Date.now())
  })

  it("returns 404 delivery_not_found for another endpoint's delivery, and webhook_not_found for an unknown endpoint", async () => {
    const mine = await createEndpoint()
    const theirs = await createEndpoint()
    const [id] = await deliveriesFor(theirs.id, 1, 'failed')
    const retry = hooks[':id'].deliveries[':deliveryId'].retry
    await expectProblem(await retry.$post({ param: { id: mine.id, deliveryId: id! } }), 404, 'delivery_not_found')
    await expectProblem(await retry.$post({ param: { id: MISSING, deliveryId: id! } }), 404, 'webhook_not_found')
    const stored = await t.db.collection('webhook_deliveries').findOne({ _id: id as never })
    expect(stored?.status).toBe('failed')
  })

  it('returns 409 webhook_disabled while the endpoint is disabled', async () => {
    const created = await createEndpoint({ enabled: false })
    const [id] = await deliveriesFor(created.id, 1, 'failed')
    const res = await hooks[':id'].deliveries[':deliveryId'].retry.$post({ param: { id: created.id, deliveryId: id! } })
    await expectProblem(res, 409, 'webhook_disabled')
  })
})
