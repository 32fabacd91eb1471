import { afterAll, describe, expect, it } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { buildNodeBundle, freePort, startServer } from './helpers/process'

/**
 * Issue 13, finding 7: /metrics names callers and runtime versions. In production it is served only
 * behind METRICS_TOKEN, on a listener of its own (METRICS_PORT), or with METRICS_PUBLIC=true; this
 * file runs the real process in production with METRICS_PORT (config.test.ts has the refusals).
 */
const root = new URL('..', import.meta.url).pathname
const dbName = `test_metrics_listener_${crypto.randomUUID().slice(0, 8)}`
const key = `usk_${randomBytes(24).toString('base64url')}`
const env = {
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  MONGODB_URI: globalThis.testMongoUri,
  MONGODB_DB: dbName,
  AUTH_API_KEYS: JSON.stringify([
    { name: 'reader', sha256: createHash('sha256').update(key).digest('hex'), scopes: ['users:read'] },
  ]),
}
const started: { proc: { kill(signal?: NodeJS.Signals): void; exited: Promise<number> } }[] = []

afterAll(async () => {
  for (const { proc } of started) {
    proc.kill('SIGTERM')
    await proc.exited
  }
  const client = new MongoClient(globalThis.testMongoUri)
  await client.db(dbName).dropDatabase()
  await client.close()
})

/** Starts an entry point in production with METRICS_PORT (production refuses port 0) and returns its two URLs. */
async function start(command: string[]) {
  const { url, metricsUrl } = await startWithLogs(command)
  return { url, metricsUrl }
}

async function startWithLogs(command: string[]) {
  const server = await startServer(command, {
    ...env,
    PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
  })
  started.push(server)
  const metricsUrl = server.listening.metricsUrl
  if (!metricsUrl) throw new Error(`no metricsUrl in the listening line: ${JSON.stringify(server.listening)}`)
  return { ...server, metricsUrl }
}

/**
 * A clean stop with nothing in flight on either listener: the shutdown's lines, and no warning of
 * requests cut at a deadline (Node's closed the metrics listener with a deadline of 0 and logged one
 * at most stops, for no request at all).
 */
async function expectQuietStop(command: string[]) {
  const server = await startWithLogs(command)
  expect((await fetch(server.metricsUrl)).status).toBe(200)
  server.proc.kill('SIGTERM')
  expect(await server.proc.exited).toBe(0)
  await Bun.sleep(50) // the log reader's last chunk
  const lines = server.logs.join('').split('\n').filter(Boolean)
  expect(lines.some((line) => line.includes('"shutting down"'))).toBe(true)
  expect(lines.filter((line) => line.includes('shutdown deadline'))).toEqual([])
}

async function expectMetricsOnTheirOwnListener({ url, metricsUrl }: { url: string; metricsUrl: string }) {
  expect(new URL(metricsUrl).port).not.toBe(new URL(url).port)
  // The service port: everything but /metrics.
  expect((await fetch(`${url}healthz`)).status).toBe(200)
  expect((await fetch(`${url}v1/users`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
  const hidden = await fetch(`${url}metrics`)
  expect(hidden.status).toBe(404)
  expect(await hidden.json()).toMatchObject({ code: 'not_found' })
  // Not here at all, whatever the method: no 405 pointing at a GET that answers 404.
  const posted = await fetch(`${url}metrics`, { method: 'POST' })
  expect([posted.status, posted.headers.get('allow')]).toEqual([404, null])
  // The metrics port: /metrics and nothing else.
  const scraped = await fetch(metricsUrl)
  expect(scraped.status).toBe(200)
  // HEAD gives the length its GET would have (it sent 0 on this listener).
  const head = await fetch(metricsUrl, { method: 'HEAD' })
  expect([head.status, Number(head.headers.get('content-length')) > 1000]).toEqual([200, true])
  expect(await scraped.text()).toContain('http_requests_total{method="GET",route="/v1/users",status="200"} 1')
  const base = metricsUrl.replace(/metrics$/, '')
  expect((await fetch(`${base}healthz`)).status).toBe(404)
  expect((await fetch(`${base}v1/users`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(404)
}

describe('METRICS_PORT in production', () => {
  it('serves /metrics on its own listener only (Bun)', async () => {
    await expectMetricsOnTheirOwnListener(await start(['bun', 'src/index.ts']))
  })

  it('serves /metrics on its own listener only (Node)', async () => {
    buildNodeBundle()
    await expectMetricsOnTheirOwnListener(await start(['node', 'dist/node/node.js']))
  }, 60_000)

  it('stops without a deadline warning when nothing is running (Bun and Node)', async () => {
    await expectQuietStop(['bun', 'src/index.ts'])
    buildNodeBundle()
    await expectQuietStop(['node', 'dist/node/node.js'])
  }, 60_000)

  it('refuses to start in production with public /metrics, naming the three ways out', async () => {
    const proc = Bun.spawn(['bun', 'src/index.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', PORT: String(await freePort()), LOG_FORMAT: 'json', ...env },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    started.push({ proc })
    expect(await proc.exited).toBe(1)
    const stderr = await new Response(proc.stderr).text()
    expect(stderr).toContain('METRICS_TOKEN: production refuses public /metrics')
  })
})
