import { describe, expect, it } from 'bun:test'
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { decodeTime } from 'ulid'
import { EVENT_ID_PATTERN, newDeliveryId, newEventId, newWebhookId } from '../src/events/events.ids'
import { ChangeEventSchema, EventListSchema, ListEventsQuerySchema } from '../src/events/events.schemas'
import {
  CreatedWebhookSchema,
  CreateWebhookSchema,
  DeliverySchema,
  ListDeliveriesQuerySchema,
  UpdateWebhookSchema,
  WebhookSchema,
} from '../src/webhooks/webhooks.schemas'

const user = {
  id: '665f1c2e9b1e8a3d4c5b6a79',
  username: 'alice.w',
  email: 'Alice@Example.com',
  metadata: {},
  role: 'user',
  status: 'active',
  hasPassword: true,
  emailVerified: false,
  createdAt: '2026-11-25T19:00:00.000Z',
  updatedAt: '2026-11-30T08:00:00.000Z',
  version: 3,
}
const base = {
  id: 'evt_01JD8Z3N5W7QK2XH9V4T6RBM0C',
  sequence: 1042,
  occurredAt: '2026-11-30T08:00:00.000Z',
  userId: user.id,
  userVersion: 3,
}

describe('event ids', () => {
  const now = new Date('2026-11-30T08:00:00.000Z')

  it('are evt_ and a ULID whose time is the clock given', () => {
    const id = newEventId(now)
    expect(id).toMatch(EVENT_ID_PATTERN)
    expect(decodeTime(id.slice(4))).toBe(now.getTime())
  })

  it('are unique within one millisecond and never contain the "." the signature scheme forbids', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newEventId(now)))
    expect(ids.size).toBe(10_000)
    expect([...ids].some((id) => id.includes('.'))).toBe(false)
  })

  it('have a prefix per kind', () => {
    expect(newWebhookId(now)).toMatch(/^wh_[0-7][0-9A-HJKMNP-TV-Z]{25}$/)
    expect(newDeliveryId(now)).toMatch(/^dlv_[0-7][0-9A-HJKMNP-TV-Z]{25}$/)
  })
})

describe('ChangeEvent', () => {
  it.each([
    ['user.created', { user }],
    ['user.updated', { user, changed: ['email', 'password'] }],
    ['user.deleted', { user }],
    ['user.restored', { user }],
    ['user.erased', {}],
    // Once the user is erased, earlier events keep only ids.
    ['user.updated', {}],
    ['user.created', {}],
  ])('reads a %s event with data %j', (type, data) => {
    const parsed = ChangeEventSchema.parse({ ...base, type, data })
    expect(parsed).toEqual({ ...base, type, data } as never)
  })

  it('narrows data on the type (the typed union consumers get)', () => {
    const event = ChangeEventSchema.parse({ ...base, type: 'user.updated', data: { user, changed: ['email'] } })
    if (event.type !== 'user.updated') throw new Error('expected user.updated')
    expect(event.data.changed).toEqual(['email'])
  })

  it.each([
    [{ ...base, type: 'user.renamed', data: {} }, 'type'],
    [{ ...base, id: 'evt_1', type: 'user.created', data: {} }, 'id'],
    [{ ...base, id: 'evt_01JD8Z3N5W7QK2XH9V4T6RBM0.', type: 'user.created', data: {} }, 'id'],
    [{ ...base, sequence: 0, type: 'user.created', data: {} }, 'sequence'],
    [{ ...base, userVersion: 1.5, type: 'user.created', data: {} }, 'userVersion'],
    [{ ...base, userId: 'nope', type: 'user.created', data: {} }, 'userId'],
    [{ ...base, occurredAt: 'yesterday', type: 'user.created', data: {} }, 'occurredAt'],
    [{ ...base, type: 'user.updated', data: { changed: 'email' } }, 'data'],
  ])('refuses %j (at %s)', (event, field) => {
    const result = ChangeEventSchema.safeParse(event)
    expect(result.success).toBe(false)
    expect(result.error?.issues.some((issue) => issue.path[0] === field)).toBe(true)
  })

  it('lists as { items, nextCursor } with a cursor that is never null', () => {
    expect(EventListSchema.safeParse({ items: [], nextCursor: '1042' }).success).toBe(true)
    expect(EventListSchema.safeParse({ items: [], nextCursor: null }).success).toBe(false)
  })
})

/** The feed query behind a throwaway route, as the validator will see it (repeated parameters arrive as arrays). */
const feed = new OpenAPIHono().openapi(
  createRoute({
    method: 'get',
    path: '/v1/events',
    request: { query: ListEventsQuerySchema },
    responses: { 200: { description: 'the parsed query', content: { 'application/json': { schema: z.unknown() } } } },
  }),
  (c) => c.json(c.req.valid('query'), 200),
)
const query = async (search: string) => {
  const res = await feed.request(`/v1/events${search}`)
  return { status: res.status, body: await res.json() }
}

describe('GET /v1/events query', () => {
  it('defaults to limit 100 and no wait', async () => {
    expect(await query('')).toEqual({ status: 200, body: { limit: 100, waitSeconds: 0 } })
  })

  it('takes type once or repeated, always as a list', async () => {
    expect((await query('?type=user.created')).body.type).toEqual(['user.created'])
    expect((await query('?type=user.created&type=user.erased')).body.type).toEqual(['user.created', 'user.erased'])
  })

  it('takes every parameter together', async () => {
    expect(await query('?after=1042&userId=665f1c2e9b1e8a3d4c5b6a79&limit=500&waitSeconds=30')).toEqual({
      status: 200,
      body: { after: '1042', userId: '665f1c2e9b1e8a3d4c5b6a79', limit: 500, waitSeconds: 30 },
    })
  })

  it.each([
    '?after=-1',
    '?after=01',
    '?after=abc',
    '?after=12345678901234567',
    '?type=user.renamed',
    '?type=user.created&type=nope',
    '?userId=665F1C2E9B1E8A3D4C5B6A79',
    '?limit=0',
    '?limit=501',
    '?limit=1.5',
    '?limit=1e2',
    '?limit=0x10',
    '?limit=%2010',
    '?waitSeconds=31',
    '?waitSeconds=-1',
    '?waitSeconds=',
    '?waitSeconds=%20',
    '?waitSeconds=1.5',
    '?waitSeconds=0x1',
    '?cursor=5',
  ])('refuses %s', async (search) => {
    expect((await query(search)).status).toBe(400)
  })

  it('is documented with a repeatable type and integer bounds', () => {
    const doc = feed.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } })
    const parameters = doc.paths?.['/v1/events']?.get?.parameters as unknown as {
      name: string
      schema: Record<string, unknown>
    }[]
    const byName = Object.fromEntries(parameters.map((p) => [p.name, p.schema]))
    expect(byName.type).toMatchObject({ type: 'array', items: { $ref: '#/components/schemas/EventType' } })
    expect(byName.limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 500, default: 100 })
    expect(byName.waitSeconds).toMatchObject({ type: 'integer', minimum: 0, maximum: 30, default: 0 })
  })
})

describe('webhook endpoint schemas', () => {
  it('creates with a url alone, enabled by default', () => {
    expect(CreateWebhookSchema.parse({ url: 'https://hooks.example.com/in' })).toEqual({
      url: 'https://hooks.example.com/in',
      enabled: true,
    })
  })

  it('takes types, a trimmed description and enabled', () => {
    expect(
      CreateWebhookSchema.parse({
        url: 'https://h.example.com/',
        types: ['user.erased'],
        description: ' billing ',
        enabled: false,
      }),
    ).toEqual({ url: 'https://h.example.com/', types: ['user.erased'], description: 'billing', enabled: false })
  })

  it.each([
    [{ url: 'ftp://hooks.example.com/' }, 'url', 'must use https:// or http://'],
    [{ url: 'https://u:p@hooks.example.com/' }, 'url', 'must not contain credentials'],
    [{ url: 'hooks.example.com' }, 'url', 'must be an absolute URL'],
    [{ url: `https://h.example.com/${'a'.repeat(2048)}` }, 'url', 'at most 2048'],
    [{ url: 'https://h.example.com/', types: [] }, 'types', ''],
    [{ url: 'https://h.example.com/', types: ['user.created', 'user.created'] }, 'types', 'must not repeat a type'],
    [{ url: 'https://h.example.com/', description: '   ' }, 'description', 'must not be empty'],
    [{ url: 'https://h.example.com/', description: 'a\u0007b' }, 'description', 'control characters'],
    [{ url: 'https://h.example.com/', description: 'a\u202Eb' }, 'description', 'control characters'],
    [{ url: 'https://h.example.com/', secret: 'whsec_chosen' }, '', 'secret'],
  ])('refuses %j at /%s', (body, field, message) => {
    const result = CreateWebhookSchema.safeParse(body)
    expect(result.success).toBe(false)
    const issue = result.error?.issues.find((i) => (i.path[0] ?? '') === field)
    expect(issue?.message).toContain(message)
  })

  it('patches as a merge patch: null resets types and removes the description; empty is refused', () => {
    expect(UpdateWebhookSchema.parse({ types: null, description: null })).toEqual({ types: null, description: null })
    expect(UpdateWebhookSchema.safeParse({}).success).toBe(false)
    expect(UpdateWebhookSchema.safeParse({ secret: 'x' }).success).toBe(false)
  })

  it('never shows the secret when read, only in the create answer', () => {
    const stored = {
      id: 'wh_01JD8Z3N5W7QK2XH9V4T6RBM0C',
      url: 'https://hooks.example.com/in',
      enabled: true,
      createdAt: '2026-11-30T08:00:00.000Z',
      updatedAt: '2026-11-30T08:00:00.000Z',
      secret: `whsec_${'A'.repeat(43)}=`,
    }
    expect(WebhookSchema.parse(stored)).not.toHaveProperty('secret')
    expect(CreatedWebhookSchema.parse(stored)).toHaveProperty('secret', stored.secret)
  })

  it('lists deliveries by status with bounded pages', () => {
    expect(ListDeliveriesQuerySchema.parse({ status: 'failed' })).toEqual({ status: 'failed', limit: 20 })
    expect(ListDeliveriesQuerySchema.safeParse({ status: 'lost' }).success).toBe(false)
    expect(ListDeliveriesQuerySchema.safeParse({ limit: '101' }).success).toBe(false)
  })

  it('reads a delivery with its recent attempts', () => {
    const delivery = {
      id: 'dlv_01JD8Z3N5W7QK2XH9V4T6RBM0C',
      webhookId: 'wh_01JD8Z3N5W7QK2XH9V4T6RBM0C',
      eventId: 'evt_01JD8Z3N5W7QK2XH9V4T6RBM0C',
      eventType: 'user.created',
      sequence: 1042,
      status: 'pending',
      attempts: 1,
      nextAttemptAt: '2026-11-30T08:00:05.000Z',
      recentAttempts: [{ at: '2026-11-30T08:00:00.000Z', durationMs: 12, statusCode: 503, errorClass: 'http_status' }],
      createdAt: '2026-11-30T08:00:00.000Z',
      updatedAt: '2026-11-30T08:00:00.000Z',
    }
    expect(DeliverySchema.parse(delivery)).toEqual(delivery as never)
    const badAttempt = { ...delivery, recentAttempts: [{ at: delivery.createdAt, durationMs: 1, errorClass: 'oops' }] }
    expect(DeliverySchema.safeParse(badAttempt).success).toBe(false)
  })
})
