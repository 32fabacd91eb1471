import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedDatabase } from '../src/db/embedded'
import { connectDatabase } from '../src/db/mongo'
import { createUsersRepository } from '../src/users/users.repository'
import { newUser, useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'
import { buildNodeBundle, startServer } from './helpers/process'
import { keptAliveConnection } from './helpers/raw-http'

describe('readiness', () => {
  it('answers 503 while shutting down', async () => {
    const t = await useTestApp({ name: 'lifecycle_draining', deps: { shuttingDown: () => true } })
    const res = await t.raw('/readyz')
    await expectProblem(res, 503, 'service_unavailable')
    expect(res.headers.get('retry-after')).toBe('1')
    expect((await t.raw('/healthz')).status).toBe(200)
  })

  it('follows an outage of the database: 503 while it is down, 200 again once it is back, no restart', async () => {
    // A database of its own, so stopping it disturbs no other test.
    const dataDir = mkdtempSync(join(tmpdir(), 'outage-'))
    let db = await startEmbeddedDatabase({ dataDir })
    const port = Number(new URL(db.uri).port)
    const database = await connectDatabase(db.uri, 'outage', { timeoutMs: 1000 })
    try {
      const users = createUsersRepository(database)
      await users.ensureIndexes()
      const app = await useTestApp({ name: 'lifecycle_outage_app', deps: { users, database } })
      const before = await app.createUser()
      expect((await app.raw('/readyz')).status).toBe(200)

      await db.stop()
      const started = performance.now()
      await expectProblem(await app.raw('/readyz'), 503, 'service_unavailable')
      const read = await app.raw(`/v1/users/${before.id}`)
      await expectProblem(read, 503, 'service_unavailable')
      expect(read.headers.get('retry-after')).toBe('1')
      await expectProblem(
        await app.raw('/v1/users', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(newUser()),
        }),
        503,
        'service_unavailable',
      )
      // Bounded by the configured 1 s per stage: nothing hangs (a generous margin, not a benchmark).
      expect(performance.now() - started).toBeLessThan(8000)

      db = await startEmbeddedDatabase({ dataDir, port })
      let ready = 0
      const deadline = Date.now() + 10_000
      while (Date.now() < deadline && ready !== 200) {
        ready = (await app.raw('/readyz')).status
        if (ready !== 200) await Bun.sleep(100)
      }
      expect(ready).toBe(200)
      const again = await app.raw(`/v1/users/${before.id}`)
      expect(again.status).toBe(200)
    } finally {
      await database.close()
      await db.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 30_000)
})

describe('graceful shutdown', () => {
  beforeAll(() => {
    buildNodeBundle()
  }, 60_000)
  const dbName = `test_lifecycle_${crypto.randomUUID().slice(0, 8)}`
  afterAll(async () => {
    const database = await connectDatabase(globalThis.testMongoUri, dbName)
    await database.db.dropDatabase()
    await database.close()
  })

  for (const [runtime, command] of [
    ['Bun', ['bun', 'src/index.ts']],
    ['Node', ['node', 'dist/node/node.js']],
  ] as const) {
    it(`on ${runtime}: a request in flight at SIGTERM completes, then the process exits 0`, async () => {
      const { proc, url, logs } = await startServer([...command], { MONGODB_URI: globalThis.testMongoUri, MONGODB_DB: dbName })
      // A create whose body arrives slowly: the request is in flight when SIGTERM comes.
      const body = JSON.stringify(newUser())
      const half = Math.floor(body.length / 2)
      const encoder = new TextEncoder()
      let sendRest: () => void = () => {}
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode(body.slice(0, half)))
          sendRest = () => {
            controller.enqueue(encoder.encode(body.slice(half)))
            controller.close()
          }
        },
      })
      const response = fetch(`${url}v1/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit)
      await Bun.sleep(300)
      proc.kill('SIGTERM')
      await Bun.sleep(300)
      sendRest()
      const res = await response
      expect(res.status).toBe(201)
      expect(await proc.exited).toBe(0)
      expect(logs.join('')).toContain('shutting down')
      // Its connection, kept alive once answered, was closed then, not at the deadline (Node leaves it open).
      expect(logs.join('')).not.toContain('requests still running at the shutdown deadline')
    }, 20_000)

    it(`on ${runtime}: answers sent while draining say Connection: close, so no client sends another request on them`, async () => {
      // A review: the drain closed kept-alive connections right after their answers, which still said
      // keep-alive, so a client's next request on one was lost.
      const { proc, url } = await startServer([...command], { MONGODB_URI: globalThis.testMongoUri, MONGODB_DB: dbName })
      const connection = await keptAliveConnection(url)
      const before = await connection.get('/v1/events')
      expect(before.headers.get('connection')?.[0]?.toLowerCase()).not.toBe('close')
      const { nextCursor } = JSON.parse(before.body) as { nextCursor: string }
      // A long poll in flight when the drain begins: released then, and answered during the drain.
      const polled = connection.get(`/v1/events?after=${nextCursor}&waitSeconds=20`)
      await Bun.sleep(300)
      proc.kill('SIGTERM')
      const released = await polled
      expect(released.status).toBe(200)
      expect(released.headers.get('connection')?.[0]?.toLowerCase()).toBe('close')
      expect(await proc.exited).toBe(0)
    }, 20_000)

    it(`on ${runtime}: with SHUTDOWN_DELAY_MS, /readyz answers 503 at once and all else is served for the delay, kept-alive connections too`, async () => {
      const { proc, url, logs } = await startServer([...command], {
        MONGODB_URI: globalThis.testMongoUri,
        MONGODB_DB: dbName,
        SHUTDOWN_DELAY_MS: '1500',
      })
      // A load balancer's connection, opened before the signal and reused after it.
      const connection = await keptAliveConnection(url)
      expect((await connection.get('/readyz')).status).toBe(200)
      const signalled = performance.now()
      proc.kill('SIGTERM')
      await Bun.sleep(200)
      expect((await connection.get('/readyz')).status).toBe(503)
      expect((await connection.get('/healthz')).status).toBe(200)
      const created = await fetch(`${url}v1/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(newUser()),
      })
      expect(created.status).toBe(201)
      expect(await proc.exited).toBe(0)
      expect(performance.now() - signalled).toBeGreaterThanOrEqual(1500)
      // The connection was closed by the drain, after the delay.
      expect((await connection.closed) - signalled).toBeGreaterThanOrEqual(1400)
      const delayLine = logs
        .join('')
        .split('\n')
        .find((line) => line.includes('"delayMs":1500'))
      expect(delayLine).toContain('"signal":"SIGTERM"')
    }, 20_000)

    it(`on ${runtime}: a second signal during SHUTDOWN_DELAY_MS ends the delay there`, async () => {
      const { proc, url, logs } = await startServer([...command], {
        MONGODB_URI: globalThis.testMongoUri,
        MONGODB_DB: dbName,
        SHUTDOWN_DELAY_MS: '60000',
      })
      proc.kill('SIGTERM')
      await Bun.sleep(300)
      expect((await fetch(`${url}readyz`)).status).toBe(503)
      const again = performance.now()
      proc.kill('SIGINT')
      expect(await proc.exited).toBe(0)
      expect(performance.now() - again).toBeLessThan(5000)
      expect(logs.join('')).toContain('shutdown delay cut short')
    }, 20_000)
  }
})
