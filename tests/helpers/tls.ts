import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Webhook } from 'standardwebhooks'

/**
 * An HTTPS webhook receiver on 127.0.0.1 with a throwaway self-signed certificate for `hostname`,
 * made by `openssl` for this run (nothing is committed). It verifies each request with the
 * `standardwebhooks` package and answers 200 when the signature holds, 400 otherwise.
 */
export type TlsReceiver = {
  port: number
  certificate: string
  received: { host: string | null; verified: boolean }[]
  stop: () => void
}

export async function startTlsReceiver(hostname: string, secret: string): Promise<TlsReceiver> {
  const dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'))
  try {
    const openssl = Bun.spawnSync(
      [
        'openssl',
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${hostname}`,
        '-addext',
        `subjectAltName=DNS:${hostname}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdout: 'pipe', stderr: 'pipe' },
    )
    if (openssl.exitCode !== 0) throw new Error(`openssl could not make a test certificate: ${openssl.stderr.toString()}`)
    const certificate = readFileSync(join(dir, 'cert.pem'), 'utf8')
    const key = readFileSync(join(dir, 'key.pem'), 'utf8')
    const verifier = new Webhook(secret)
    const received: TlsReceiver['received'] = []
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      tls: { cert: certificate, key },
      async fetch(request) {
        let verified = false
        try {
          verifier.verify(await request.text(), Object.fromEntries(request.headers))
          verified = true
        } catch {}
        received.push({ host: request.headers.get('host'), verified })
        return new Response(null, { status: verified ? 200 : 400 })
      },
    })
    return { port: server.port as number, certificate, received, stop: () => server.stop(true) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
