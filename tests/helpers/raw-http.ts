import { connect } from 'node:net'

export type RawResponse = { status: number; headers: Map<string, string[]>; body: string; raw: string }

/**
 * Sends bytes exactly as given to a server and reads its answer until the connection closes: for
 * requests a Request object cannot express (raw bytes in the path, CR/LF or Latin-1 in headers).
 * The request should say `Connection: close`; a server that never answers fails after `timeoutMs`.
 */
export function rawRequest(url: string, request: string | Uint8Array, timeoutMs = 5000): Promise<RawResponse> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request)
    })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('data', (chunk) => chunks.push(Buffer.from(chunk)))
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(parseResponse(Buffer.concat(chunks).toString('latin1')))
    })
  })
}

/**
 * One connection kept open across requests (HTTP/1.1 keep-alive), as a load balancer keeps its
 * connections to a backend. `get` sends a request and resolves with its answer, or rejects when the
 * server has closed the connection; `closed` resolves with the time (performance.now()) it did.
 */
export async function keptAliveConnection(url: string) {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port) })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  let buffered = Buffer.alloc(0)
  let pending: { resolve: (response: RawResponse) => void; reject: (error: Error) => void } | undefined
  let closedAt: number | undefined
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      closedAt = performance.now()
      pending?.reject(new Error('the server closed the connection'))
      resolve(closedAt)
    }),
  )
  socket.on('error', () => {})
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, Buffer.from(chunk)])
    const length = completeResponseLength(buffered.toString('latin1'))
    if (!pending || length === undefined) return
    const answer = parseResponse(buffered.subarray(0, length).toString('latin1'))
    buffered = buffered.subarray(length)
    const { resolve } = pending
    pending = undefined
    resolve(answer)
  })
  return {
    get(path: string): Promise<RawResponse> {
      if (closedAt !== undefined) return Promise.reject(new Error('the server closed the connection'))
      return new Promise((resolve, reject) => {
        pending = { resolve, reject }
        socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`)
      })
    },
    closed,
    close: () => socket.destroy(),
  }
}

/** The length of the first whole response in `text` (by Content-Length, or to a chunked body's end), if it is all there. */
function completeResponseLength(text: string): number | undefined {
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const head = text.slice(0, end)
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const last = text.indexOf('\r\n0\r\n\r\n', end)
    return last === -1 ? undefined : last + 7
  }
  const length = end + 4 + Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
  return text.length >= length ? length : undefined
}

function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  const [statusLine = '', ...lines] = raw.slice(0, end === -1 ? raw.length : end).split('\r\n')
  const headers = new Map<string, string[]>()
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()])
  }
  let body = end === -1 ? '' : raw.slice(end + 4)
  if (headers.get('transfer-encoding')?.includes('chunked')) body = dechunk(body)
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: Buffer.from(body, 'latin1').toString('utf8'), raw }
}

function dechunk(body: string): string {
  let out = ''
  let rest = body
  for (;;) {
    const lineEnd = rest.indexOf('\r\n')
    const size = Number.parseInt(rest.slice(0, lineEnd), 16)
    if (!size) return out
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size)
    rest = rest.slice(lineEnd + 2 + size + 2)
  }
}
