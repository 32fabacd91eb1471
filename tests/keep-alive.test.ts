import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { MongoClient } from 'mongodb'
import { bunIdleTimeout, servedOnBun } from '../src/http/request-target'
import { buildNodeBundle, startServer } from './helpers/process'
import { keptAliveConnection } from './helpers/raw-http'

/**
 * HTTP_IDLE_TIMEOUT_SECONDS on the real processes: a kept-alive connection stays open at least that
 * long while idle, longer than the runtimes' old fixed times (Bun about 10 s, closing after 8 to 12;
 * Node 5 s, closing after 6), which load balancers with a 60 s idle timeout outlived (502s). Values
 * low enough to keep the tests short, high enough to tell the old times apart: Bun's timer moves in
 * 4 s steps, so it closes between the value and 7 s later; Node 1 s after it.
 */
const dbName = `test_keep_alive_${crypto.randomUUID().slice(0, 8)}`
const procs: { kill(signal?: NodeJS.Signals): void; exited: Promise<number> }[] = []

beforeAll(() => {
  buildNodeBundle()
}, 60_000)

afterAll(async () => {
  for (const proc of procs) {
    proc.kill('SIGKILL')
    await proc.exited
  }
  const client = new MongoClient(globalThis.testMongoUri)
  await client.db(dbName).dropDatabase()
  await client.close()
})

describe.each([
  // [runtime, command, HTTP_IDLE_TIMEOUT_SECONDS, reused after (s, past the old time), closed within (s)]
  ['Bun', ['bun', 'src/index.ts'], 13, 13.5, 21],
  ['Node', ['node', 'dist/node/node.js'], 8, 7, 10.5],
] as const)('HTTP_IDLE_TIMEOUT_SECONDS on %s', (_, command, idleSeconds, reusedAfter, closedWithin) => {
  it(`keeps an idle connection ${idleSeconds} s at least, closes it soon after, and never cuts a long poll`, async () => {
    const { proc, url } = await startServer([...command], {
      MONGODB_URI: globalThis.testMongoUri,
      MONGODB_DB: dbName,
      HTTP_IDLE_TIMEOUT_SECONDS: String(idleSeconds),
      // Config wants the idle time at least a database call's deadline (2 × this + 1 s = 7 s).
      DB_TIMEOUT_MS: '3000',
    })
    procs.push(proc)
    const [reused, closing, polling] = await Promise.all([
      keptAliveConnection(url),
      keptAliveConnection(url),
      keptAliveConnection(url),
    ])
    const { nextCursor } = JSON.parse((await polling.get('/v1/events')).body) as { nextCursor: string }

    const reuse = async () => {
      expect((await reused.get('/healthz')).status).toBe(200)
      await Bun.sleep(reusedAfter * 1000)
      return (await reused.get('/healthz')).status
    }
    const closedAfter = async () => {
      expect((await closing.get('/healthz')).status).toBe(200)
      const answered = performance.now()
      return ((await closing.closed) - answered) / 1000
    }
    // Longer than Node's idle time: a pending answer is not idle there (Bun's floor: request-target.ts).
    const longPoll = async () => (await polling.get(`/v1/events?after=${nextCursor}&waitSeconds=${idleSeconds + 1}`)).status
    const [status, closedAfterSeconds, pollStatus] = await Promise.all([reuse(), closedAfter(), longPoll()])

    expect(status).toBe(200)
    expect(closedAfterSeconds).toBeGreaterThanOrEqual(idleSeconds)
    expect(closedAfterSeconds).toBeLessThan(closedWithin)
    expect(pollStatus).toBe(200)
  }, 40_000)
})

describe('Bun.serve: the per-request idle time', () => {
  it("is never set below the listener's, which Bun would keep on the connection after the answer", async () => {
    const asked: number[] = []
    const server = { timeout: (_request: Request, seconds: number) => void asked.push(seconds) }
    // What holdingAnswer asks for a long poll: 60 s.
    const longPoll = (listenerSeconds: number) =>
      servedOnBun((request, env) => {
        env.timeout(request, 60)
        return new Response('ok')
      }, bunIdleTimeout(listenerSeconds))(new Request('http://localhost/'), server)
    await longPoll(75)
    await longPoll(5)
    expect(asked).toEqual([79, 60])
  })
})
