import { afterAll, describe, expect, it } from 'bun:test'
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { MongoClient } from 'mongodb'
import { boundCalls } from '../src/db/calls'
import { connectDatabase } from '../src/db/mongo'
import { watchHeartbeats } from '../src/db/watchdog'
import { UnavailableError } from '../src/errors'
import { createUsersRepository } from '../src/users/users.repository'
import { useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'
import { startServer } from './helpers/process'

/**
 * A TCP relay in front of the test database that can turn into a black hole: it then accepts
 * connections and never answers, like a database that hangs or a network path that drops packets.
 * Turning it into a hole also cuts the connections it was relaying.
 */
async function startRelay(target: { host: string; port: number }) {
  let hole = false
  let stalled = false
  const relayed = new Set<net.Socket>()
  const all = new Set<net.Socket>()
  const track = (socket: net.Socket, set: Set<net.Socket>) => {
    set.add(socket)
    socket.on('close', () => set.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const server = net.createServer((client) => {
    track(client, all)
    if (hole) return // accepted, never answered
    const upstream = net.connect(target.port, target.host)
    track(upstream, all)
    track(client, relayed)
    track(upstream, relayed)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    // Stalled, bytes are dropped both ways: a database that stopped answering mid-conversation.
    client.on('data', (chunk) => void (stalled || upstream.write(chunk)))
    upstream.on('data', (chunk) => void (stalled || client.write(chunk)))
  })
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
  return {
    uri: `mongodb://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    blackHole() {
      hole = true
      for (const socket of relayed) socket.destroy()
    },
    forward() {
      hole = false
    },
    stall() {
      stalled = true
    },
    close() {
      for (const socket of all) socket.destroy()
      server.close()
    },
  }
}

describe('heartbeat watchdog', () => {
  // Found by scripts/reliability/faults.ts: after some database restarts under load the service
  // answered 503 forever. A heartbeat of the driver's monitor, started as the database closed its
  // connection, never ended; so the server stayed "unknown" and every server selection failed
  // although the database was back. The race cannot be provoked on demand from here; these
  // tests pin the watchdog that detects it and the reset that cures it.
  const heartbeat = (awaited = false) => ({ connectionId: '127.0.0.1:27017', awaited })

  it('reports a polling heartbeat that never ends, once', async () => {
    const client = new EventEmitter()
    let hung = 0
    const stop = watchHeartbeats(client, { hungAfterMs: 100, onHung: () => hung++ })
    client.emit('serverHeartbeatStarted', heartbeat())
    await Bun.sleep(300)
    stop()
    expect(hung).toBe(1)
  })

  it('leaves heartbeats that end, and streaming ones, alone', async () => {
    const client = new EventEmitter()
    let hung = 0
    const stop = watchHeartbeats(client, { hungAfterMs: 100, onHung: () => hung++ })
    client.emit('serverHeartbeatStarted', heartbeat())
    client.emit('serverHeartbeatSucceeded', heartbeat())
    client.emit('serverHeartbeatStarted', heartbeat())
    client.emit('serverHeartbeatFailed', heartbeat())
    client.emit('serverHeartbeatStarted', heartbeat(true))
    await Bun.sleep(300)
    stop()
    expect(hung).toBe(0)
  })

  // On MongoDB 4.4+ every heartbeat after the first is a streaming (awaited) one, so a watchdog
  // that ignored them never fired there: the hang it exists for went unnoticed on production servers.
  it('reports a streaming heartbeat pending past its longer bound, once', async () => {
    const client = new EventEmitter()
    let hung = 0
    const stop = watchHeartbeats(client, { hungAfterMs: 50, awaitedHungAfterMs: 100, onHung: () => hung++ })
    client.emit('serverHeartbeatStarted', heartbeat(true))
    await Bun.sleep(300)
    stop()
    expect(hung).toBe(1)
  })

  it('gives a streaming heartbeat its longer bound before calling it hung', async () => {
    const client = new EventEmitter()
    let hung = 0
    const stop = watchHeartbeats(client, { hungAfterMs: 50, awaitedHungAfterMs: 60_000, onHung: () => hung++ })
    client.emit('serverHeartbeatStarted', heartbeat(true))
    await Bun.sleep(300)
    stop()
    expect(hung).toBe(0)
  })

  it('resetting the client (the cure) keeps the app serving, with 503s at worst while it reconnects', async () => {
    const database = await connectDatabase(globalThis.testMongoUri, `test_reset_${crypto.randomUUID().slice(0, 8)}`)
    afterAll(async () => {
      await database.db.dropDatabase()
      await database.close()
    })
    const users = createUsersRepository(database)
    await users.ensureIndexes()
    const t = await useTestApp({ name: 'recovery_reset_app', deps: { users, database } })
    const user = await t.createUser()
    const resetting = database.reset()
    const during = await t.raw(`/v1/users/${user.id}`)
    expect([200, 503]).toContain(during.status)
    await resetting
    expect((await t.raw(`/v1/users/${user.id}`)).status).toBe(200)
    expect((await t.raw('/readyz')).status).toBe(200)
  })
})

describe('closing during a reset', () => {
  // Shutdown awaited a reset that was reconnecting to a database that was down: its connect
  // attempt (up to timeoutMs) and then its pause between attempts (timeoutMs again), so a
  // SIGTERM during an outage could take two timeouts longer than configured.
  it('does not wait for the reset to finish reconnecting', async () => {
    const target = new URL(globalThis.testMongoUri)
    const relay = await startRelay({ host: target.hostname, port: Number(target.port || 27017) })
    // The default timeout (a longer one would raise every later call's deadline in this process):
    // a connect attempt into the hole takes 5 s, longer than this test may run.
    const database = await connectDatabase(relay.uri, `test_close_${crypto.randomUUID().slice(0, 8)}`)
    try {
      relay.blackHole()
      const resetting = database.reset().catch(() => {})
      await Bun.sleep(100)
      await database.close()
      await resetting
    } finally {
      relay.close()
    }
  }, 4_000)
})

describe('shutting down with the database gone', () => {
  // A consumer's review: a SIGTERM with the database gone took 17-45 s (dev: the embedded
  // database dies first), as the relay's lease release and last call each waited out their call
  // deadline (11 s by default) after the drain. Closing is now bounded by SHUTDOWN_TIMEOUT_MS too.
  it('exits once closing has had its time, not after the database calls give up', async () => {
    const target = new URL(globalThis.testMongoUri)
    const relay = await startRelay({ host: target.hostname, port: Number(target.port || 27017) })
    const { proc } = await startServer(['bun', 'src/index.ts'], {
      MONGODB_URI: relay.uri,
      MONGODB_DB: `test_shutdown_${crypto.randomUUID().slice(0, 8)}`,
      SHUTDOWN_TIMEOUT_MS: '1000',
    })
    try {
      // The relay holds its lease (taken at start), then the database stops answering on the
      // connections it has (the embedded one, signalled with the service, did that in dev).
      await Bun.sleep(500)
      relay.stall()
      const started = performance.now()
      proc.kill('SIGTERM')
      const code = await Promise.race([proc.exited, Bun.sleep(8000).then(() => 'still running')])
      // The drain (nothing in flight) and closing's 2 s at least (MIN_CLOSING_MS); 6.5 s before.
      expect({ code, withinMs: performance.now() - started < 4500 }).toEqual({ code: 0, withinMs: true })
    } finally {
      proc.kill('SIGKILL')
      relay.close()
    }
  }, 15_000)
})

describe('a request still running at the shutdown deadline', () => {
  // An operator review: a request cut at the deadline left no log line at all (its line is
  // written once it is answered, and it never is).
  it('is logged with its request id, method, route and how long it ran', async () => {
    const target = new URL(globalThis.testMongoUri)
    const relay = await startRelay({ host: target.hostname, port: Number(target.port || 27017) })
    const { proc, url, logs } = await startServer(['bun', 'src/index.ts'], {
      MONGODB_URI: relay.uri,
      MONGODB_DB: `test_cut_${crypto.randomUUID().slice(0, 8)}`,
      SHUTDOWN_TIMEOUT_MS: '1000',
    })
    try {
      await Bun.sleep(500)
      relay.stall()
      const requestId = crypto.randomUUID()
      const pending = fetch(`${url}v1/users/000000000000000000000001`, { headers: { 'X-Request-Id': requestId } }).catch(
        () => 'cut',
      )
      await Bun.sleep(300)
      proc.kill('SIGTERM')
      expect(await Promise.race([proc.exited, Bun.sleep(8000).then(() => 'still running')])).toBe(0)
      expect(await pending).toBe('cut')
      const lines = logs
        .join('')
        .split('\n')
        .filter((line) => line.includes(requestId))
        .map((line) => JSON.parse(line))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatchObject({
        level: 40,
        requestId,
        method: 'GET',
        route: '/v1/users/{id}',
        caller: 'anonymous (auth off)',
      })
      expect(lines[0].msg).toContain('request cut at the shutdown deadline')
      expect(lines[0].durationMs).toBeGreaterThanOrEqual(900)
    } finally {
      proc.kill('SIGKILL')
      relay.close()
    }
  }, 15_000)
})

describe('shutting down with a webhook attempt still running', () => {
  // A review: closing waited for the webhook attempts (up to SHUTDOWN_TIMEOUT_MS) before it
  // stopped the relay, under a deadline of the same length, so a hanging receiver meant the relay's
  // lease was never released and the next instance waited for it to lapse.
  it("releases the relay's lease at once, beside the attempt", async () => {
    const requested = Promise.withResolvers<void>()
    const receiver = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () => {
        requested.resolve()
        return new Promise<Response>(() => {}) // never answers
      },
    })
    const dbName = `test_shutdown_hooks_${crypto.randomUUID().slice(0, 8)}`
    const { proc, url } = await startServer(['bun', 'src/index.ts'], {
      MONGODB_URI: globalThis.testMongoUri,
      MONGODB_DB: dbName,
      SHUTDOWN_TIMEOUT_MS: '3000',
      WEBHOOK_TIMEOUT_MS: '60000',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    })
    const client = new MongoClient(globalThis.testMongoUri)
    try {
      const post = (path: string, body: unknown) =>
        fetch(new URL(path, url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      expect((await post('/v1/webhooks', { url: `${receiver.url}hook` })).status).toBe(201)
      expect((await post('/v1/users', { username: 'hooked', email: 'hooked@example.com' })).status).toBe(201)
      await Promise.race([requested.promise, Bun.sleep(10_000).then(() => Promise.reject(new Error('no attempt')))])
      const leaseUntil = async () => {
        const state = await client
          .db(dbName)
          .collection('events_state')
          .findOne({ _id: 'relay' as never })
        return state?.leaseUntil instanceof Date ? state.leaseUntil.getTime() : undefined
      }
      expect(await leaseUntil()).toBeGreaterThan(Date.now())
      proc.kill('SIGTERM')
      const signalled = performance.now()
      // Released well before the attempt's wait (3 s) is over: the relay stops beside it.
      while ((await leaseUntil()) !== 0 && performance.now() - signalled < 1500) await Bun.sleep(50)
      expect(await leaseUntil()).toBe(0)
      expect(await Promise.race([proc.exited, Bun.sleep(8000).then(() => 'still running')])).toBe(0)
    } finally {
      proc.kill('SIGKILL')
      receiver.stop(true)
      await client.close()
    }
  }, 30_000)
})

/** One driver call on a handle whose deadline is `deadlineMs`. */
const database = <T>(operation: () => Promise<T>, deadlineMs: number) =>
  boundCalls({ deadlineMs, maxTimeMS: deadlineMs })(operation)

describe('database calls', () => {
  // Found by scripts/reliability/faults.ts: a PATCH sent as the database was killed never got an
  // answer (the client gave up after 30 s). Its driver call never settled; now the deadline answers.
  it('turns a driver call that never settles into 503 service_unavailable', async () => {
    const error = await database(() => new Promise<never>(() => {}), 50).catch((e: unknown) => e)
    // UnavailableError is 503 service_unavailable with Retry-After on the wire (src/http/outcomes.ts).
    expect(error).toBeInstanceOf(UnavailableError)
    expect((error as UnavailableError).retryAfterSeconds).toBe(1)
  })

  // Found while chasing a 500 seen once in the fault-injection run: when every pooled connection
  // is busy on a database that stopped answering, the driver's wait-queue timeout is a
  // MongoWaitQueueTimeoutError, which the mapping did not know, so the request got a 500.
  it('answers 503 when no pooled connection frees up in time', async () => {
    const target = new URL(globalThis.testMongoUri)
    const relay = await startRelay({ host: target.hostname, port: Number(target.port || 27017) })
    const client = new MongoClient(relay.uri, { maxPoolSize: 1, waitQueueTimeoutMS: 200, socketTimeoutMS: 5000 })
    try {
      const collection = client.db(`test_pool_${crypto.randomUUID().slice(0, 8)}`).collection('users')
      await collection.findOne({})
      relay.stall()
      // Holds the only connection; its own deadline ends it once the check is done.
      const holder = database(() => collection.findOne({}), 1000).catch((e: unknown) => e)
      await Bun.sleep(50)
      const error = await database(() => collection.findOne({}), 10_000).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UnavailableError)
      expect(await holder).toBeInstanceOf(UnavailableError)
    } finally {
      relay.close()
      await client.close()
    }
  })

  it('passes results and other errors through', async () => {
    expect(await database(async () => 42, 1000)).toBe(42)
    const error = await database(() => Promise.reject(new TypeError('a bug')), 1000).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
  })
})

describe('database recovery', () => {
  it('serves again once a database that stopped answering answers again, without a restart', async () => {
    const target = new URL(globalThis.testMongoUri)
    const relay = await startRelay({ host: target.hostname, port: Number(target.port || 27017) })
    const database = await connectDatabase(relay.uri, `test_recovery_${crypto.randomUUID().slice(0, 8)}`, { timeoutMs: 500 })
    afterAll(async () => {
      await database.db.dropDatabase()
      await database.close()
      relay.close()
    })
    const users = createUsersRepository(database)
    await users.ensureIndexes()
    const t = await useTestApp({ name: 'recovery_app', deps: { users, database } })
    const user = await t.createUser()

    relay.blackHole()
    await expectProblem(await t.raw(`/v1/users/${user.id}`), 503, 'service_unavailable')
    // Requests while it is down make the driver's monitor check the server again: into the hole.
    for (let i = 0; i < 3; i++) await expectProblem(await t.raw('/readyz'), 503, 'service_unavailable')

    relay.forward()
    let status = 0
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && status !== 200) {
      status = (await t.raw(`/v1/users/${user.id}`)).status
      if (status !== 200) await Bun.sleep(100)
    }
    expect(status).toBe(200)
    expect((await t.raw('/readyz')).status).toBe(200)
  }, 30_000)
})
