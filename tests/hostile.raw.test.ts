import { afterAll, describe, expect, it } from 'bun:test'
import { connectDatabase } from '../src/db/mongo'
import { ABANDONED_UPLOADS, abandonRequest, eventually } from './helpers/abort'
import { startServer } from './helpers/process'
import { rawRequest } from './helpers/raw-http'

/**
 * Hostile requests that a Request object cannot express, sent byte for byte over a socket to the
 * service running as a real process (`bun src/index.ts`): raw bytes and NUL in the path, CR, LF,
 * NUL and Latin-1 in X-Request-Id, framing tricks. Some never reach the app: Bun's HTTP parser
 * refuses them itself (bare status, no problem body); the table says which. Either way nothing is
 * stored and the process keeps answering.
 */
const dbName = `test_hostile_raw_${crypto.randomUUID().slice(0, 8)}`
const { proc, url, logs } = await startServer(['bun', 'src/index.ts'], {
  MONGODB_URI: globalThis.testMongoUri,
  MONGODB_DB: dbName,
})
const database = await connectDatabase(globalThis.testMongoUri, dbName)
const users = database.db.collection('users')

afterAll(async () => {
  proc.kill('SIGTERM')
  await proc.exited
  await database.db.dropDatabase()
  await database.close()
})

const GENERATED_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const request = (head: string, body = '') =>
  `${head}\r\nHost: users.test\r\nConnection: close\r\n${body ? `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n` : ''}\r\n${body}`

type RawCase = {
  name: string
  request: string
  status: number
  /** The app's problem code; undefined when Bun's HTTP parser answers before the app runs. */
  code?: string
  /** What X-Request-Id must be echoed as (a string, or a generated one). */
  requestId?: string | RegExp
}

const cases: RawCase[] = [
  // Path parameters with raw bytes: the app sees them and refuses them.
  {
    name: 'raw 0xFF 0xFE bytes in a username',
    request: request('GET /v1/users/by-username/\xff\xfeadmin HTTP/1.1'),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'a percent-encoded NUL after an id',
    request: request('GET /v1/users/0123456789abcdef01234567%00 HTTP/1.1'),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'unnormalized ../ segments',
    request: request('GET /v1/users/../../../etc/passwd HTTP/1.1'),
    status: 404,
    code: 'not_found',
  },
  {
    name: 'percent-encoded dot segments',
    request: request('GET /v1/users/%2e%2e/%2e%2e/etc/passwd HTTP/1.1'),
    status: 404,
    code: 'not_found',
  },
  { name: 'backslash traversal', request: request('GET /v1/users\\..\\..\\etc HTTP/1.1'), status: 404, code: 'not_found' },
  {
    name: 'an encoded slash inside an id',
    request: request('DELETE /v1/users/0123456789ab%2F..%2Fcdef012345 HTTP/1.1'),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'invalid UTF-8 in a JSON body over the wire',
    request: request(
      'POST /v1/users HTTP/1.1\r\nContent-Type: application/json',
      '{"username":"rawuser1","email":"raw1@example.com","displayName":"\xc3\x28"}',
    ),
    status: 400,
    code: 'malformed_json',
  },
  // Bun's parser: a NUL byte in the request line makes it answer 505 (it reads no valid version).
  { name: 'a raw NUL byte in the path', request: request('GET /v1/users/abc\x00def HTTP/1.1'), status: 505 },

  // X-Request-Id: only [A-Za-z0-9._-]{1,128} is echoed; anything else is replaced, never reflected.
  {
    name: 'X-Request-Id with a Latin-1 byte',
    request: request('GET /healthz HTTP/1.1\r\nX-Request-Id: caf\xe9'),
    status: 200,
    requestId: GENERATED_ID,
  },
  {
    name: 'X-Request-Id sent twice (joined as "one, two")',
    request: request('GET /healthz HTTP/1.1\r\nX-Request-Id: one\r\nX-Request-Id: two'),
    status: 200,
    requestId: GENERATED_ID,
  },
  {
    name: 'X-Request-Id with HTML',
    request: request('GET /healthz HTTP/1.1\r\nX-Request-Id: <script>alert(1)</script>'),
    status: 200,
    requestId: GENERATED_ID,
  },
  {
    name: 'X-Request-Id with percent-encoded CRLF',
    request: request('GET /healthz HTTP/1.1\r\nX-Request-Id: a%0d%0aSet-Cookie:%20pwn=1'),
    status: 200,
    requestId: GENERATED_ID,
  },
  // CRLF inside a header value is the end of that header: "Set-Cookie" becomes a request header of
  // its own, the id is the valid "abc", and nothing is injected into the response.
  {
    name: 'X-Request-Id followed by CRLF and Set-Cookie',
    request: request('GET /healthz HTTP/1.1\r\nX-Request-Id: abc\r\nSet-Cookie: pwn=1'),
    status: 200,
    requestId: 'abc',
  },
  {
    name: 'X-Request-Id with a bare LF',
    request: request('GET /healthz HTTP/1.1\r\nX-Request-Id: abc\nSet-Cookie: pwn=1'),
    status: 400,
  },
  {
    name: 'X-Request-Id with a bare CR',
    request: request('GET /healthz HTTP/1.1\r\nX-Request-Id: abc\rSet-Cookie: pwn=1'),
    status: 400,
  },
  { name: 'X-Request-Id with a NUL byte', request: request('GET /healthz HTTP/1.1\r\nX-Request-Id: ab\x00c'), status: 400 },
  {
    name: 'X-Request-Id folded onto a second line (obs-fold)',
    request: request('GET /healthz HTTP/1.1\r\nX-Request-Id: abc\r\n def'),
    status: 400,
  },
  {
    name: 'a 100 KB X-Request-Id',
    request: request(`GET /healthz HTTP/1.1\r\nX-Request-Id: ${'a'.repeat(100_000)}`),
    status: 431,
  },
]

/**
 * Issue 13, finding 8: without a usable Host, Bun hands the app a relative URL, and the app read the
 * path after a made-up host: `/static/v1/users/by-username/bob` was served as
 * `/v1/users/by-username/bob`, past any path rule of a proxy in front. It is routed on the target
 * exactly as sent, as on Node (tests/node.test.ts).
 */
describe('requests without a usable Host (real server process)', () => {
  const hostless = [
    ['HTTP/1.0 with no Host', 'GET /static/v1/users/by-username/bob HTTP/1.0\r\n\r\n'],
    ['HTTP/1.1 with an empty Host', 'GET /static/v1/users/by-username/bob HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n'],
  ] as const

  it.each(hostless)('%s is routed on the path as sent: 404, not the shifted route', async (_, head) => {
    const created = await fetch(`${url}v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', email: 'bob@example.com' }),
    })
    expect([201, 409]).toContain(created.status)
    expect((await fetch(`${url}v1/users/by-username/bob`)).status).toBe(200)

    const res = await rawRequest(url, head)
    expect(res.status).toBe(404)
    expect(JSON.parse(res.body)).toMatchObject({ code: 'not_found', instance: '/static/v1/users/by-username/bob' })
  })

  it('answers an HTTP/1.0 health check with no Host (as some load balancers send it)', async () => {
    const res = await rawRequest(url, 'GET /healthz HTTP/1.0\r\n\r\n')
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toMatchObject({ status: 'ok' })
  })

  it('keeps a protocol-relative target on this host', async () => {
    const res = await rawRequest(url, 'GET //evil.example/healthz HTTP/1.0\r\n\r\n')
    expect(res.status).toBe(404)
    expect(JSON.parse(res.body)).toMatchObject({ code: 'not_found', instance: '//evil.example/healthz' })
  })
})

/**
 * Issue 13, finding 5: a client that closes the connection mid-body is not a server error. Before,
 * each was logged as `unhandled error` (level 50, with the raw path) and counted as a 500, which
 * pages someone.
 */
describe('a client that goes away mid-body (real server process)', () => {
  const metrics = async () => (await fetch(`${url}metrics`)).text()

  it('is counted as 499 "client closed request", never as a 500, and logged at info with the route template', async () => {
    for (const [, head, body] of ABANDONED_UPLOADS) await abandonRequest(url, head, body)
    const counters = (m: string) => m.split('\n').filter((line) => line.startsWith('http_requests_total{'))
    const text = await eventually(metrics, (m) => counters(m).filter((line) => line.includes('status="499"')).length >= 3, 40)
    const counted = counters(text)
    expect(counted.filter((line) => line.includes('status="499"'))).toHaveLength(3)
    expect(counted.filter((line) => line.includes('status="5'))).toEqual([])

    const lines = logLines()
    const closed = lines.filter((line) => line.status === 499)
    expect(closed.map((line) => line.route).sort()).toEqual(['/v1/auth/verify', '/v1/users', 'unmatched'])
    for (const line of closed) expect(line).toMatchObject({ level: 30, msg: 'client closed request' })
    expect(lines.filter((line) => line.level >= 50)).toEqual([])
    expect(logs.join('')).not.toContain('alice.abort@example.com')
  })
})

/** The server's JSON log lines so far. */
function logLines(): { level: number; msg: string; status?: number; route?: string }[] {
  return logs
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
}

describe('hostile bytes on the wire (real server process)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const before = await users.countDocuments()
    const res = await rawRequest(url, c.request)
    expect(res.status).toBe(c.status)
    if (c.code) {
      expect(res.headers.get('content-type')).toEqual(['application/problem+json'])
      expect(JSON.parse(res.body)).toMatchObject({ status: c.status, code: c.code })
    }
    const echoed = res.headers.get('x-request-id')?.[0]
    if (typeof c.requestId === 'string') expect(echoed).toBe(c.requestId)
    else if (c.requestId) expect(echoed).toMatch(c.requestId)
    // Whatever came in, nothing of it goes out as a header of its own.
    expect(res.headers.has('set-cookie')).toBe(false)
    expect(await users.countDocuments()).toBe(before)
    expect((await fetch(`${url}healthz`)).status).toBe(200)
  })

  it('logged no unhandled error and is still running', () => {
    expect(logs.join('')).not.toContain('unhandled error')
    expect(proc.exitCode).toBeNull()
  })
})
