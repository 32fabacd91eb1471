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
