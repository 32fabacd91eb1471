import { connect } from 'node:net'

/**
 * Sends the head of a request and part of its body, then closes the connection without waiting
 * for an answer: a client that goes away mid-upload. Resolves once the socket is closed.
 */
export function abandonRequest(url: string, head: string, partialBody: string): Promise<void> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(`${head}\r\n\r\n${partialBody}`, () => setTimeout(() => socket.destroy(), 50))
    })
    socket.on('error', reject)
    socket.on('close', () => resolve())
  })
}

/** Both ways of framing a body, each closed after the first bytes, to a route and to no route. */
export const ABANDONED_UPLOADS = [
  [
    'a chunked POST /v1/users',
    'POST /v1/users HTTP/1.1\r\nHost: users.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked',
    '8\r\n{"userna',
  ],
  [
    'a POST /v1/auth/verify with Content-Length',
    'POST /v1/auth/verify HTTP/1.1\r\nHost: users.test\r\nContent-Type: application/json\r\nContent-Length: 500',
    '{"login":"ali',
  ],
  [
    'a chunked POST to a path holding an email',
    'POST /v1/users/by-email/alice.abort@example.com HTTP/1.1\r\nHost: users.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked',
    '8\r\n{"userna',
  ],
] as const

/** Polls `read` until `done` says so, at most `attempts` times 50 ms apart; returns the last value. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, attempts = 100): Promise<T> {
  let value = await read()
  for (let i = 1; i < attempts && !done(value); i++) {
    await Bun.sleep(50)
    value = await read()
  }
  return value
}
