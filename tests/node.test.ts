import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { MongoClient } from 'mongodb'
import { ARGON2_PARAMETERS } from '../src/users/passwords'
import { createBunPasswordHasher } from '../src/users/passwords.bun'
import reference from './fixtures/reference-hashes.json'
import { ABANDONED_UPLOADS, abandonRequest, eventually } from './helpers/abort'
import { newUser } from './helpers/context'
import { buildNodeBundle, startServer } from './helpers/process'
import { rawRequest } from './helpers/raw-http'

/**
 * The same service on Node 20 through @hono/node-server: the bundled entry (bun run build:node)
 * started with plain `node`, on the run's database.
 */
const root = new URL('..', import.meta.url).pathname
const dbName = `test_node_${crypto.randomUUID().slice(0, 8)}`
const client = new MongoClient(globalThis.testMongoUri)
let server: Awaited<ReturnType<typeof startNode>>['proc'] | undefined
let baseUrl = ''
let logs: string[] = []

beforeAll(async () => {
  buildNodeBundle()
  ;({ proc: server, url: baseUrl, logs } = await startNode())
}, 60_000)

/** Starts `node dist/node/node.js` on a free port and resolves once it listens. */
const startNode = () => startServer(['node', 'dist/node/node.js'], { MONGODB_URI: globalThis.testMongoUri, MONGODB_DB: dbName })

afterAll(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL')
  await client.db(dbName).dropDatabase()
  await client.close()
})

/** Verifies a hash with @node-rs/argon2 in a separate `node` process; resolves to its exit code. */
async function verifyOnNode(password: string, hash: string): Promise<number> {
  const script =
    "import('@node-rs/argon2').then(a => a.verify(process.argv[1], process.argv[2])).then(ok => process.exit(ok ? 0 : 3))"
  const proc = Bun.spawn(['node', '-e', script, hash, password], { cwd: root, stdout: 'ignore', stderr: 'inherit' })
  return proc.exited
}

describe('the Node entry point', () => {
  it('creates and reads a user', async () => {
    const body = newUser({ password: 'hashed on node' })
    const created = await fetch(`${baseUrl}v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(created.status).toBe(201)
    const user = await created.json()
    expect(created.headers.get('etag')).toBe('"1"')

    const read = await fetch(`${baseUrl}v1/users/${user.id}`)
    expect(read.status).toBe(200)
    expect(await read.json()).toEqual(user)
  })

  it('answers problems the same way', async () => {
    const res = await fetch(`${baseUrl}v1/users/nope`, { headers: { 'x-request-id': 'from-node-test' } })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toStartWith('application/problem+json')
    expect(await res.json()).toMatchObject({ code: 'validation_failed', requestId: 'from-node-test' })
  })

  it('makes hashes Bun verifies, and verifies hashes Bun makes', async () => {
    const body = newUser({ password: 'made on node 42' })
    expect(
      (
        await fetch(`${baseUrl}v1/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).status,
    ).toBe(201)
    const stored = await client.db(dbName).collection('users').findOne({ username: body.username })
    const nodeHash: string = stored?.passwordHash
    expect(nodeHash).toStartWith(`$argon2id$v=19$m=${ARGON2_PARAMETERS.memoryCost},t=${ARGON2_PARAMETERS.timeCost},p=1$`)
    expect(await Bun.password.verify('made on node 42', nodeHash)).toBe(true)
    expect(await Bun.password.verify('made on node 43', nodeHash)).toBe(false)

    const bunHash = await createBunPasswordHasher().hash('made on bun 7')
    expect(await verifyOnNode('made on bun 7', bunHash)).toBe(0)
    expect(await verifyOnNode('made on bun 8', bunHash)).toBe(3)
  }, 20_000)

  it.each([
    ['HTTP/1.0 with no Host', 'GET /static/v1/users/by-username/bob HTTP/1.0\r\n\r\n'],
    ['HTTP/1.1 with an empty Host', 'GET /static/v1/users/by-username/bob HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n'],
  ])('routes %s on the path as sent (404), as on Bun', async (_, head) => {
    const body = JSON.stringify({ username: 'bob', email: 'bob@example.com' })
    const created = await fetch(`${baseUrl}v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect([201, 409]).toContain(created.status)
    const res = await rawRequest(baseUrl, head)
    expect(res.status).toBe(404)
    expect(JSON.parse(res.body)).toMatchObject({ code: 'not_found', instance: '/static/v1/users/by-username/bob' })
  })

  it('counts a client that goes away mid-body as 499, not 500, and logs it at info', async () => {
    for (const [, head, body] of ABANDONED_UPLOADS) await abandonRequest(baseUrl, head, body)
    const counters = (m: string) => m.split('\n').filter((line) => line.startsWith('http_requests_total{'))
    const metrics = async () => (await fetch(`${baseUrl}metrics`)).text()
    const text = await eventually(metrics, (m) => counters(m).filter((line) => line.includes('status="499"')).length >= 3, 40)
    expect(counters(text).filter((line) => line.includes('status="499"'))).toHaveLength(3)
    expect(counters(text).filter((line) => line.includes('status="5'))).toEqual([])
    const lines = logs
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; status?: number })
    expect(lines.filter((line) => line.status === 499).every((line) => line.level === 30)).toBe(true)
    expect(lines.filter((line) => line.level >= 50)).toEqual([])
    expect(logs.join('')).not.toContain('alice.abort@example.com')
  })

  it('names Node and its version in /metrics', async () => {
    // This test runs on Bun, whose process.versions.node is emulated: ask node itself.
    const nodeVersion = Bun.spawnSync(['node', '-p', 'process.versions.node']).stdout.toString().trim()
    const text = await (await fetch(`${baseUrl}metrics`)).text()
    expect(text).toContain(`runtime="node",runtime_version="${nodeVersion}"} 1`)
    expect(text).toMatch(/^users_service_build_info\{version="[^"]+",runtime="node",/m)
    expect(text).toContain(`nodejs_version_info{version="v${nodeVersion}"`)
  })

  it('verifies every reference hash imported through the API, then holds our argon2id', async () => {
    for (const entry of reference.hashes) {
      const body = newUser({ passwordHash: entry.hash })
      const post = (path: string, json: object) =>
        fetch(`${baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(json),
        })
      expect((await post('v1/users', body)).status).toBe(201)
      expect((await post('v1/auth/verify', { login: body.username, password: `!${entry.password}` })).status).toBe(401)
      expect((await post('v1/auth/verify', { login: body.username, password: entry.password })).status).toBe(200)
      const stored = await client.db(dbName).collection('users').findOne({ username: body.username })
      expect(stored?.passwordHash.startsWith('$argon2id$v=19$m=65536,t=2,p=1$')).toBe(entry.rehash)
    }
  }, 60_000)

  it('exits 0 on SIGTERM', async () => {
    const { proc } = await startNode()
    proc.kill('SIGTERM')
    expect(await proc.exited).toBe(0)
  }, 20_000)
})
