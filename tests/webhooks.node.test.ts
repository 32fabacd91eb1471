import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Webhook } from 'standardwebhooks'
import { generateWebhookSecret } from '../src/webhooks/webhooks.signing'
import { startTlsReceiver, type TlsReceiver } from './helpers/tls'

/**
 * The same modules outside Bun: the consumers' verifier bundled for browsers and run by plain
 * `node` (Node 20 is what CI has), and the sender bundled for Node, delivering to a receiver here
 * that verifies with the `standardwebhooks` package, over HTTP and over pinned TLS.
 */
const src = new URL('../src/', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'webhooks-node-'))
const secret = generateWebhookSecret()
const id = 'evt_01JD8Z3N5W7QK2XH9V4T6RBM0C'
const body = JSON.stringify({ id, type: 'user.created', sequence: 1, data: {} })
const verified: boolean[] = []
const releaseSlow: ((response: Response) => void)[] = []
const receiver = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(request) {
    if (new URL(request.url).pathname === '/slow') return new Promise<Response>((resolve) => releaseSlow.push(resolve))
    let ok = false
    try {
      new Webhook(secret).verify(await request.text(), Object.fromEntries(request.headers))
      ok = true
    } catch {}
    verified.push(ok)
    return new Response(null, { status: ok ? 204 : 400 })
  },
})
let tls: TlsReceiver
let verifierBundle = ''

beforeAll(async () => {
  tls = await startTlsReceiver('hooks.example.com', secret)
  writeFileSync(join(dir, 'ca.pem'), tls.certificate)
  const verifier = await Bun.build({ entrypoints: [`${src}events/events.verify.ts`], target: 'browser', format: 'esm' })
  if (!verifier.success) throw new AggregateError(verifier.logs, 'the verifier did not bundle for browsers')
  verifierBundle = await verifier.outputs[0]!.text()
  writeFileSync(join(dir, 'verify.mjs'), verifierBundle)
  writeFileSync(
    join(dir, 'verify-main.mjs'),
    `import { verifyWebhook } from './verify.mjs'
const [secret, headers, body] = process.argv.slice(2)
verifyWebhook(secret, JSON.parse(headers), body).then((event) => console.log('ok', event.id), (error) => console.log(error.reason))
`,
  )
  writeFileSync(
    join(dir, 'send-entry.ts'),
    `import { readFileSync } from 'node:fs'
import { createWebhookSender } from '${src}webhooks/webhooks.sender'
const [url, secret, id, body, caFile] = process.argv.slice(2)
const send = createWebhookSender({
  timeoutMs: Number(process.env.TIMEOUT_MS ?? 5000),
  allowPrivateTargets: true,
  clock: () => new Date(),
  resolver: async () => [{ address: '127.0.0.1', family: 4 }],
  ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}),
})
send({ endpoint: { url, secrets: [secret] }, id, body }).then((outcome) => console.log(JSON.stringify(outcome)))
`,
  )
  const sender = await Bun.build({ entrypoints: [join(dir, 'send-entry.ts')], target: 'node', format: 'esm', outdir: dir })
  if (!sender.success) throw new AggregateError(sender.logs, 'the sender did not bundle for Node')
}, 60_000)

afterAll(() => {
  for (const release of releaseSlow) release(new Response('late'))
  receiver.stop(true)
  tls?.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function node(...args: string[]): Promise<string> {
  return nodeWith({}, ...args)
}

async function nodeWith(env: Record<string, string>, ...args: string[]): Promise<string> {
  const proc = Bun.spawn(['node', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  if (code !== 0) throw new Error(`node exited with ${code}: ${err}`)
  return out.trim()
}

describe('the consumers’ verifier outside Bun', () => {
  it('bundles for browsers with nothing to import', () => {
    expect(verifierBundle).toContain('verifyWebhook')
    expect(verifierBundle).not.toMatch(/^import /m)
    expect(verifierBundle).not.toContain('node:')
  })

  it('verifies on Node a webhook the standardwebhooks package signed, and refuses a tampered one', async () => {
    const at = new Date()
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    }
    expect(await node('verify-main.mjs', secret, JSON.stringify(headers), body)).toBe(`ok ${id}`)
    expect(await node('verify-main.mjs', secret, JSON.stringify(headers), `${body} `)).toBe('bad_signature')
  })
})

describe('the sender on Node', () => {
  it('delivers over HTTP, to the pinned address, signed so the receiver verifies', async () => {
    const before = verified.length
    const url = `http://hooks.example.com:${receiver.port}/in`
    const outcome = JSON.parse(await node('send-entry.js', url, secret, id, body))
    expect(outcome).toMatchObject({ result: 'delivered', statusCode: 204 })
    expect(verified.slice(before)).toEqual([true])
  })

  it('delivers over TLS to the pinned address, checking the certificate for the URL host', async () => {
    const url = `https://hooks.example.com:${tls.port}/in`
    const outcome = JSON.parse(await node('send-entry.js', url, secret, id, body, join(dir, 'ca.pem')))
    expect(outcome).toMatchObject({ result: 'delivered', statusCode: 200 })
    expect(tls.received.at(-1)).toEqual({ host: `hooks.example.com:${tls.port}`, verified: true })
  })

  it('fails with the TLS error class when the certificate names another host', async () => {
    const url = `https://other.example.com:${tls.port}/in`
    const outcome = JSON.parse(await node('send-entry.js', url, secret, id, body, join(dir, 'ca.pem')))
    expect(outcome).toMatchObject({ result: 'retry', errorClass: 'tls', errorCode: 'ERR_TLS_CERT_ALTNAME_INVALID' })
  })

  it('fails with the connection error class when nothing listens', async () => {
    const closed = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
    const url = `http://hooks.example.com:${closed.port}/in`
    closed.stop(true)
    const outcome = JSON.parse(await node('send-entry.js', url, secret, id, body))
    expect(outcome).toMatchObject({ result: 'retry', errorClass: 'connection', errorCode: 'ECONNREFUSED' })
  })

  it('times out when the receiver does not answer', async () => {
    const url = `http://hooks.example.com:${receiver.port}/slow`
    const outcome = JSON.parse(await nodeWith({ TIMEOUT_MS: '300' }, 'send-entry.js', url, secret, id, body))
    expect(outcome).toMatchObject({ result: 'retry', errorClass: 'timeout' })
  })
})
