import { describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { ObjectId } from 'mongodb'
import { createAuthenticator } from '../src/auth/authenticate'
import type { User } from '../src/client'
import { testConfig } from '../src/config'
import { createEventsFeed } from '../src/events/events.feed'
import type { ChangeEvent, EventList, ListEventsQuery } from '../src/events/events.schemas'
import { bunIdleTimeout, servedOnBun } from '../src/http/request-target'
import { newUser, useTestApp } from './helpers/context'
import { allEvents, startRelay } from './helpers/events'
import { apiKey } from './helpers/keys'
import { expectProblem, pointers } from './helpers/problem'
import { rawRequest } from './helpers/raw-http'
import { publishEvents } from './helpers/webhooks'

/**
 * GET /v1/events (API.md "Change events"): every change to a user is one event, in sequence
 * order, with the user as that change left it; filters, cursors that never go null, long polls,
 * the watermark, retention. Auth is off (every scope) except where the scope is the subject.
 */
const t = await useTestApp({ name: 'events_feed', deps: { config: testConfig({ legacyRoutes: true }) } })
const relay = await startRelay(t)

const json = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json', ...headers },
  body: JSON.stringify(body),
})
const feed = async (query = ''): Promise<EventList> => {
  const res = await t.raw(`/v1/events${query}`)
  expect(res.status).toBe(200)
  return (await res.json()) as EventList
}
const read = async (id: string, deleted = false): Promise<User> =>
  (await (await t.raw(`/v1/users/${id}${deleted ? '?includeDeleted=true' : ''}`)).json()) as User
/** A user's events, all of them, through the feed. */
const eventsOf = async (userId: string) => {
  await relay.drain()
  return (await feed(`?userId=${userId}&limit=500`)).items
}

describe('GET /v1/events: one event per change, as that change left the user', () => {
  it('lists create, update, delete, restore and erase of a user in order, each with the user read right after it', async () => {
    const created = await t.createUser({ displayName: 'One', metadata: { plan: 'free' } })
    const snapshots: User[] = [created]
    const patched = await t.raw(`/v1/users/${created.id}`, json('PATCH', { displayName: 'Two', emailVerified: true }))
    expect(patched.status).toBe(200)
    snapshots.push(await read(created.id))
    expect(
      (await t.raw(`/v1/users/${created.id}`, json('PATCH', { metadata: { plan: 'pro' }, password: 'a long password' }))).status,
    ).toBe(200)
    snapshots.push(await read(created.id))
    expect((await t.raw(`/v1/users/${created.id}`, { method: 'DELETE' })).status).toBe(204)
    snapshots.push(await read(created.id, true))
    expect((await t.raw(`/v1/users/${created.id}/restore`, { method: 'POST' })).status).toBe(200)
    snapshots.push(await read(created.id))

    const events = await eventsOf(created.id)
    expect(events.map((event) => event.type)).toEqual([
      'user.created',
      'user.updated',
      'user.updated',
      'user.deleted',
      'user.restored',
    ])
    expect(events.map((event) => event.userVersion)).toEqual([1, 2, 3, 4, 5])
    for (const [index, event] of events.entries()) {
      expect(event).toMatchObject({ userId: created.id, id: expect.stringMatching(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/) })
      expect(event.data.user).toEqual(snapshots[index])
      expect(event.occurredAt).toBe(snapshots[index]?.updatedAt as string)
    }
    expect(events[1]?.data).toMatchObject({ changed: ['displayName', 'emailVerified'] })
    expect(events[2]?.data).toMatchObject({ changed: ['metadata', 'hasPassword', 'password'] })
    // Sequences only grow.
    const sequences = events.map((event) => event.sequence)
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b))
  })

  it('lists only what changed when the one-write PATCH sent fields with their current values', async () => {
    const user = await t.createUser({ displayName: 'Same', givenName: 'Ada' })
    // Three fields sent, one of them different: the write cannot tell which, the replay can.
    const res = await t.raw(
      `/v1/users/${user.id}`,
      json('PATCH', { displayName: 'Same', givenName: 'Ada', familyName: 'Lovelace' }),
    )
    expect(res.status).toBe(200)
    const after = await read(user.id)
    const [, updated] = await eventsOf(user.id)
    expect(updated?.data).toEqual({ user: after, changed: ['familyName'] })
    expect(relay.logger.lines.filter((line) => line.level === 'error')).toEqual([])
  })

  it('shows a disable that ran out by the time of a later change as active, as a read then did', async () => {
    let now = Date.parse('2026-11-25T12:00:00.000Z')
    const timed = await useTestApp({ name: 'events_disable', clock: () => new Date(now) })
    const timedRelay = await startRelay(timed)
    const until = new Date(now + 60_000).toISOString()
    const user = await timed.createUser({ status: 'disabled', disabledUntil: until, disabledReason: 'review' })
    now += 120_000
    const res = await timed.raw(`/v1/users/${user.id}`, json('PATCH', { displayName: 'Later' }))
    expect(res.status).toBe(200)
    const later = (await res.json()) as User
    expect(later).toMatchObject({ status: 'active' })
    await timedRelay.drain()
    const { items } = (await (await timed.raw(`/v1/events?userId=${user.id}`)).json()) as EventList
    expect(items[0]?.data.user).toMatchObject({ status: 'disabled', disabledUntil: until, disabledReason: 'review' })
    // The disable ran out with no write: not a change of this event, which changed the name only.
    expect(items[1]?.data).toEqual({ user: later, changed: ['displayName'] })
  })

  it('has one event per change through the compatibility routes too', async () => {
    const username = `compat${randomBytes(3).toString('hex')}`
    expect((await t.raw('/create', json('POST', { username, email: `${username}@example.com` }))).status).toBe(201)
    expect((await t.raw(`/update/${username}`, json('PUT', { email: `${username}@example.org` }))).status).toBe(200)
    expect((await t.raw(`/delete/${username}`, { method: 'DELETE' })).status).toBe(200)
    const { _id } = (await t.collection.findOne({ username })) as { _id: ObjectId }
    const events = await eventsOf(_id.toHexString())
    expect(events.map((event) => event.type)).toEqual(['user.created', 'user.updated', 'user.deleted'])
    expect(events[1]?.data).toMatchObject({ user: { email: `${username}@example.org` }, changed: ['email'] })
  })

  it('has no event for a sign-in: lastSignInAt is not a change, and never in an event', async () => {
    const user = await t.createUser({ password: 'the right password' })
    const verified = await t.raw('/v1/auth/verify', json('POST', { login: user.username, password: 'the right password' }))
    expect(verified.status).toBe(200)
    expect((await read(user.id)).lastSignInAt).toBeString()
    const events = await eventsOf(user.id)
    expect(events.map((event) => event.type)).toEqual(['user.created'])
    expect(JSON.stringify(events)).not.toContain('lastSignInAt')
  })

  it('keeps the server-only outbox fields out of every answer', async () => {
    const user = await t.createUser()
    const answers = [
      await t.raw(`/v1/users/${user.id}`, json('PATCH', { displayName: 'Shown' })),
      await t.raw(`/v1/users/${user.id}`),
      await t.raw(`/v1/users?q=${user.username}`),
    ]
    for (const res of answers) {
      const text = await res.text()
      for (const field of ['pendingEvents', 'eventBase', 'outboxSince']) expect(text).not.toContain(field)
    }
  })
})

describe('GET /v1/events: cursors and filters', () => {
  it('pages with limit: following nextCursor sees each event once, in sequence order', async () => {
    await Promise.all(Array.from({ length: 5 }, () => t.createUser()))
    await relay.drain()
    const all = (await feed('?limit=500')).items
    const seen: ChangeEvent[] = []
    let cursor = '0'
    for (let page = 0; page < 100; page++) {
      const { items, nextCursor } = await feed(`?limit=2&after=${cursor}`)
      seen.push(...items)
      expect(nextCursor).toBeString()
      if (items.length === 0) {
        // Nothing newer: the cursor sent comes back.
        expect(nextCursor).toBe(cursor)
        break
      }
      cursor = nextCursor
    }
    expect(seen.map((event) => event.id)).toEqual(all.map((event) => event.id))
    expect(seen.map((event) => event.sequence)).toEqual(all.map((_, index) => index + 1))
  })

  it('filters by type (repeatable) and userId, and moves the cursor past what the filters left out', async () => {
    const user = await t.createUser()
    expect((await t.raw(`/v1/users/${user.id}`, json('PATCH', { displayName: 'Filtered' }))).status).toBe(200)
    await relay.drain()
    const { visibleThrough } = (await t.db.collection('events_state').findOne({})) as unknown as { visibleThrough: number }
    const updates = await feed(`?type=user.updated&userId=${user.id}`)
    expect(updates.items.map((event) => event.type)).toEqual(['user.updated'])
    // Everything up to the watermark was looked at: the next request starts there.
    expect(updates.nextCursor).toBe(String(visibleThrough))
    const both = await feed(`?type=user.created&type=user.updated&userId=${user.id}`)
    expect(both.items.map((event) => event.type)).toEqual(['user.created', 'user.updated'])
    const none = await feed(`?type=user.erased&userId=${user.id}`)
    expect(none).toEqual({ items: [], nextCursor: String(visibleThrough) })
  })

  it('returns an empty page with the cursor sent when nothing is newer', async () => {
    await relay.drain()
    const { nextCursor } = await feed('?limit=500')
    const last = Number(nextCursor)
    expect(await feed(`?after=${last}`)).toEqual({ items: [], nextCursor: String(last) })
  })

  it('refuses a cursor ahead of the feed, or not a cursor, with 400 at /after', async () => {
    const ahead = await expectProblem(await t.raw('/v1/events?after=99999999'), 400, 'validation_failed')
    expect(ahead.errors?.[0]).toMatchObject({ location: 'query', pointer: '/after', code: 'ahead_of_feed' })
    for (const bad of ['-1', 'abc', '01', '1.5']) {
      const problem = await expectProblem(await t.raw(`/v1/events?after=${bad}`), 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['query:/after'])
    }
    const problem = await expectProblem(await t.raw('/v1/events?type=user.nothing&limit=0'), 400, 'validation_failed')
    expect(pointers(problem)).toEqual(['query:/limit', 'query:/type/0'])
  })

  it('never shows an event above the watermark, even when it is already in the collection', async () => {
    await relay.drain()
    const state = (await t.db.collection('events_state').findOne({})) as unknown as {
      visibleThrough: number
      lastSequence: number
    }
    // An event of a batch not yet committed: inserted, but above visibleThrough.
    const pendingSequence = state.visibleThrough + 1
    await t.db.collection('events').insertOne({
      _id: 'evt_7ZZZZZZZZZZZZZZZZZZZZZZZZZ' as unknown as ObjectId,
      sequence: pendingSequence,
      type: 'user.created',
      occurredAt: new Date(),
      userId: new ObjectId().toHexString(),
      userVersion: 1,
      data: {},
    })
    try {
      const page = await feed(`?after=${Math.max(state.visibleThrough - 1, 0)}&limit=500`)
      expect(page.items.map((event) => event.sequence)).not.toContain(pendingSequence)
      expect(Number(page.nextCursor)).toBeLessThanOrEqual(state.visibleThrough)
    } finally {
      await t.db.collection('events').deleteOne({ sequence: pendingSequence })
    }
  })
})

describe('GET /v1/events?waitSeconds: the long poll', () => {
  it('answers as soon as a change is relayed', async () => {
    await relay.drain()
    const { nextCursor } = await feed()
    const waiting = t.raw(`/v1/events?after=${nextCursor}&waitSeconds=30`)
    const user = await t.createUser()
    const res = await waiting
    expect(res.status).toBe(200)
    const { items } = (await res.json()) as EventList
    expect(items.map((event) => [event.type, event.userId])).toEqual([['user.created', user.id]])
  })

  it('answers with the empty page and the same cursor when the time is up', async () => {
    await relay.drain()
    const { nextCursor } = await feed()
    expect(await feed(`?after=${nextCursor}&waitSeconds=1`)).toEqual({ items: [], nextCursor })
  })

  it('answers 503 with Retry-After above the waiters an instance holds', async () => {
    const small = await useTestApp({ name: 'events_waiters', deps: { eventsFeed: { maxWaiters: 1 } } })
    const smallRelay = await startRelay(small)
    await smallRelay.drain()
    const first = small.raw('/v1/events?waitSeconds=30')
    // Once the first is waiting (the gauge says so), the one place is taken.
    const waiting = async () => (await small.deps.metrics.render()).includes('events_feed_waiting_requests 1')
    for (let attempt = 0; attempt < 200 && !(await waiting()); attempt++) await Bun.sleep(10)
    expect(await waiting()).toBe(true)
    const refused = await small.raw('/v1/events?waitSeconds=30')
    await expectProblem(refused, 503, 'service_unavailable')
    expect(refused.headers.get('retry-after')).toBe('1')
    await small.createUser()
    expect((await first).status).toBe(200)
  })
})

describe('GET /v1/events?waitSeconds on Bun.serve', () => {
  it("holds a long poll past the listener's idle time and answers it, with a Host and without (HTTP/1.0)", async () => {
    await relay.drain()
    const { nextCursor } = await feed()
    // As src/index.ts serves, with HTTP_IDLE_TIMEOUT_SECONDS at its lowest (5): a silent connection is cut after 8 to 12 s.
    const idleTimeout = bunIdleTimeout(5)
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: servedOnBun(t.app.fetch, idleTimeout), idleTimeout })
    try {
      // Without its own idle time, Bun closed this connection after 8 to 12 s (ECONNRESET). Without
      // a Host the request is rebuilt (routeOnRequestTarget), and the idle time must still reach
      // the request Bun made (a review: it silently did not, and the poll was cut at 10 s).
      const target = `/v1/events?after=${nextCursor}&waitSeconds=12`
      const [withHost, withoutHost] = await Promise.all([
        fetch(`${server.url}${target.slice(1)}`),
        rawRequest(server.url.href, `GET ${target} HTTP/1.0\r\n\r\n`, 20_000),
      ])
      expect(withHost.status).toBe(200)
      expect(await withHost.json()).toEqual({ items: [], nextCursor })
      expect(withoutHost.status).toBe(200)
      expect(JSON.parse(withoutHost.body)).toEqual({ items: [], nextCursor })
    } finally {
      server.stop(true)
    }
  }, 30_000)
})

describe('GET /v1/events: retention', () => {
  it('answers 410 cursor_expired below what retention kept, and starts after it without a cursor', async () => {
    const old = await useTestApp({ name: 'events_retention' })
    const users = await Promise.all([old.createUser(), old.createUser()])
    const first = await startRelay(old)
    await first.drain()
    await first.stop()
    // A holder whose clock is 31 days on: both events are past a 30-day retention.
    const later = await startRelay(old, { clock: () => new Date(Date.now() + 31 * 86_400_000) })
    await old.createUser()
    await later.drain()
    const state = (await old.db.collection('events_state').findOne({})) as unknown as { prunedThrough: number }
    expect(state.prunedThrough).toBe(2)
    expect((await allEvents(old)).map((event) => event.sequence)).toEqual([3])
    const expired = await expectProblem(await old.raw('/v1/events?after=1'), 410, 'cursor_expired')
    expect(expired.detail).toContain('Start again without `after`')
    const fresh = (await (await old.raw('/v1/events')).json()) as EventList
    expect(fresh.items.map((event) => event.sequence)).toEqual([3])
    expect(fresh.items.map((event) => event.userId)).not.toContain(users[0].id)
    expect((await old.raw('/v1/events?after=2')).status).toBe(200)
  })
})

describe("GET /v1/events: a caller's share of the long polls", () => {
  it("keeps a filtered long poll's place across its waits: once waiting, it is never refused", async () => {
    const world = await useTestApp({ name: 'events_place' })
    await publishEvents(world.db, [{}])
    // The page query of the woken poll is held until another poll of the same caller has asked.
    let gate: PromiseWithResolvers<void> | undefined
    const feed = createEventsFeed(
      {
        ...world.stores.events,
        page: async (query) => {
          await gate?.promise
          return world.stores.events.page(query)
        },
      },
      { maxWaitersPerCaller: 1, pollEveryMs: 20 },
    )
    const list = (query: Partial<ListEventsQuery>) =>
      feed.list({ limit: 100, waitSeconds: 0, ...query } as ListEventsQuery, undefined, 'one_caller')
    const waiting = list({ after: '1', type: ['user.deleted'], waitSeconds: 2 })
    for (let attempt = 0; attempt < 100 && feed.waiting() === 0; attempt++) await Bun.sleep(10)
    expect(feed.waiting()).toBe(1)
    // An update wakes it; its page (held) will have nothing of its type, and it waits again.
    gate = Promise.withResolvers<void>()
    await publishEvents(world.db, [{ type: 'user.updated' }])
    for (let attempt = 0; attempt < 100 && feed.waiting() === 1; attempt++) await Bun.sleep(10)
    expect(feed.waiting()).toBe(0)
    // Meanwhile another poll of the caller: the place is still the first one's.
    expect(await list({ after: '2', waitSeconds: 2 })).toEqual({ kind: 'too_many_waiting', max: 1 })
    gate.resolve()
    expect(await waiting).toEqual({ kind: 'page', page: { items: [], nextCursor: '2' } })
  })
})

describe('GET /v1/events: retention racing a read', () => {
  /** A feed on its own database whose page query pauses until `prune` has raised prunedThrough and deleted. */
  async function racingFeed(name: string, published: number, prunedThrough: number) {
    const world = await useTestApp({ name })
    await publishEvents(
      world.db,
      Array.from({ length: published }, () => ({})),
    )
    await world.db.collection('events_state').updateOne({ _id: 'relay' as never }, { $set: { token: 5, prunedThrough: 0 } })
    const events = world.stores.events
    let pruned = false
    const feed = createEventsFeed({
      ...events,
      page: async (query) => {
        if (!pruned) {
          pruned = true
          // Every event so far counts as old: prunedThrough moves to `prunedThrough`, then they are deleted.
          await world.db
            .collection('events')
            .updateMany({ sequence: { $gt: prunedThrough } }, { $set: { occurredAt: new Date(Date.now() + 86_400_000) } })
          expect(await events.prune(5, new Date(Date.now() + 60_000))).toBe(prunedThrough)
        }
        return events.page(query)
      },
    })
    const list = (query: Partial<ListEventsQuery>) => feed.list({ limit: 100, waitSeconds: 0, ...query } as ListEventsQuery)
    return { list }
  }

  it('answers 410 instead of an empty page with a cursor past the pruned events', async () => {
    const { list } = await racingFeed('events_prune_empty', 3, 3)
    expect(await list({ after: '0' })).toEqual({ kind: 'cursor_expired', after: 0, prunedThrough: 3 })
  })

  it('answers 410 instead of a page that starts after a hole', async () => {
    const { list } = await racingFeed('events_prune_hole', 5, 3)
    expect(await list({ after: '1' })).toEqual({ kind: 'cursor_expired', after: 1, prunedThrough: 3 })
  })

  it('answers 410 to a filtered read too', async () => {
    const { list } = await racingFeed('events_prune_filtered', 5, 3)
    expect(await list({ after: '0', type: ['user.updated'] })).toEqual({ kind: 'cursor_expired', after: 0, prunedThrough: 3 })
  })

  it('starts again after what retention kept when no cursor was sent', async () => {
    const { list } = await racingFeed('events_prune_fresh', 5, 3)
    const outcome = await list({})
    expect(outcome.kind).toBe('page')
    const page = (outcome as { page: EventList }).page
    expect(page.items.map((event) => event.sequence)).toEqual([4, 5])
    expect(page.nextCursor).toBe('5')
  })
})

describe('GET /v1/events: authorization', () => {
  const key = (scopes: ('users:read' | 'events:read')[]) => {
    const secret = `usk_${randomBytes(24).toString('base64url')}`
    return {
      secret,
      entry: { name: scopes.join('-').replace(':', '_'), sha256: createHash('sha256').update(secret).digest('hex'), scopes },
    }
  }
  const reader = key(['users:read'])
  const consumer = key(['events:read'])

  it('needs events:read: 401 without a key, 403 with users:read alone', async () => {
    const secured = await useTestApp({
      name: 'events_auth',
      deps: { authenticator: createAuthenticator({ apiKeys: [reader.entry, consumer.entry], jwt: undefined }) },
    })
    await expectProblem(await secured.raw('/v1/events'), 401, 'unauthorized')
    const forbidden = await expectProblem(
      await secured.raw('/v1/events', { headers: { authorization: `Bearer ${reader.secret}` } }),
      403,
      'forbidden',
    )
    expect(forbidden.detail).toContain('events:read')
    const allowed = await secured.raw('/v1/events', { headers: { authorization: `Bearer ${consumer.secret}` } })
    expect(allowed.status).toBe(200)
    // And events:read alone reads no user.
    const users = await secured.raw(`/v1/users/${new ObjectId().toHexString()}`, {
      headers: { authorization: `Bearer ${consumer.secret}` },
    })
    expect(users.status).toBe(403)
  })

  it("answers 429 with Retry-After above one caller's share of the long polls, while another caller still waits", async () => {
    // Another caller with the same scope (a name of its own: shares are per caller).
    const other = key(['events:read'])
    other.entry.name = 'another_consumer'
    const writer = apiKey('writer', ['users:write'])
    const shared = await useTestApp({
      name: 'events_share',
      deps: {
        authenticator: createAuthenticator({ apiKeys: [consumer.entry, other.entry, writer.entry], jwt: undefined }),
        eventsFeed: { maxWaitersPerCaller: 2 },
      },
    })
    const change = async () => {
      const res = await shared.raw('/v1/users', {
        method: 'POST',
        headers: { authorization: `Bearer ${writer.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(newUser()),
      })
      expect(res.status).toBe(201)
    }
    const sharedRelay = await startRelay(shared)
    await sharedRelay.drain()
    const poll = (secret: string, after = '') =>
      shared.raw(`/v1/events?waitSeconds=30${after && `&after=${after}`}`, { headers: { authorization: `Bearer ${secret}` } })
    const waitingNow = async (count: number) =>
      (await shared.deps.metrics.render()).includes(`events_feed_waiting_requests ${count}`)
    const held = [poll(consumer.secret), poll(consumer.secret)]
    for (let attempt = 0; attempt < 200 && !(await waitingNow(2)); attempt++) await Bun.sleep(10)
    expect(await waitingNow(2)).toBe(true)
    const refused = await poll(consumer.secret)
    const problem = await expectProblem(refused, 429, 'rate_limited')
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(problem.detail).toContain('2 long polls')
    // Another key still gets a place.
    const third = poll(other.secret)
    for (let attempt = 0; attempt < 200 && !(await waitingNow(3)); attempt++) await Bun.sleep(10)
    expect(await waitingNow(3)).toBe(true)
    await change()
    const answered = await Promise.all([...held, third])
    expect(answered.map((res) => res.status)).toEqual([200, 200, 200])
    const { nextCursor } = (await (answered[0] as Response).json()) as EventList
    // Answered, the places are the caller's again.
    const again = poll(consumer.secret, nextCursor)
    for (let attempt = 0; attempt < 200 && !(await waitingNow(1)); attempt++) await Bun.sleep(10)
    expect(await waitingNow(1)).toBe(true)
    await change()
    expect((await again).status).toBe(200)
    await sharedRelay.stop()
  })

  it("lengthens the connection's idle time only for an authorized, valid long poll", async () => {
    const secured = await useTestApp({
      name: 'events_auth_idle',
      deps: { authenticator: createAuthenticator({ apiKeys: [reader.entry, consumer.entry], jwt: undefined }) },
    })
    // Bun's server as Hono's env: what the handler asks of it.
    const asked: number[] = []
    const server = { timeout: (_request: Request, seconds: number) => void asked.push(seconds) }
    const idleOf = async (target: string, secret?: string) => {
      asked.length = 0
      const headers: Record<string, string> = secret ? { authorization: `Bearer ${secret}` } : {}
      const res = await secured.app.fetch(new Request(`http://localhost${target}`, { headers }), server)
      return { status: res.status, asked: [...asked] }
    }
    const { nextCursor } = (await (
      await secured.raw('/v1/events', { headers: { authorization: `Bearer ${consumer.secret}` } })
    ).json()) as EventList
    expect(await idleOf(`/v1/events?after=${nextCursor}&waitSeconds=1`, consumer.secret)).toEqual({ status: 200, asked: [60] })
    // Unauthenticated, unauthorized, invalid, no wait, or merely naming the feed: the default stays.
    expect(await idleOf('/v1/events?waitSeconds=5')).toEqual({ status: 401, asked: [] })
    expect(await idleOf('/v1/events?waitSeconds=5', reader.secret)).toEqual({ status: 403, asked: [] })
    expect(await idleOf('/v1/events?waitSeconds=99', consumer.secret)).toEqual({ status: 400, asked: [] })
    expect(await idleOf('/v1/events', consumer.secret)).toEqual({ status: 200, asked: [] })
    expect(await idleOf('/nope?/v1/events&waitSeconds=5')).toEqual({ status: 404, asked: [] })
  })
})
