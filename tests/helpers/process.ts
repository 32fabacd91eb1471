import { createServer } from 'node:net'

/**
 * Starts the service as a real process (`bun src/index.ts` or `node dist/node/node.js`) on a free
 * port and resolves once it logs where it listens.
 */
const root = new URL('../..', import.meta.url).pathname

/**
 * A free TCP port on loopback, for a process in production, which refuses port 0 (a random port).
 * Free when asked: another process could take it before the service does (rare on loopback).
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  await new Promise((done) => server.close(done))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** Builds the Node entry's bundle (`bun run build:node`), which the Node tests start with plain `node`. */
export function buildNodeBundle(): void {
  const build = Bun.spawnSync(['bun', 'run', 'build:node'], { cwd: root, stdout: 'pipe', stderr: 'pipe' })
  if (build.exitCode !== 0) throw new Error(`build:node failed: ${build.stderr.toString()}`)
}

export async function startServer(command: string[], env: Record<string, string>) {
  const proc = Bun.spawn(command, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', PORT: '0', LOG_FORMAT: 'json', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const logs: string[] = []
  const listening = await listeningLine(proc.stdout, logs)
  return { proc, url: listening.url, logs, listening }
}

/**
 * Reads the server's JSON log lines until it says where it listens (returning that line), then keeps collecting them in
 * the background: a closed pipe would make the server's later log writes fail.
 */
async function listeningLine(
  stdout: ReadableStream<Uint8Array>,
  logs: string[],
): Promise<{ url: string; metricsUrl?: string; [key: string]: unknown }> {
  const reader = stdout.getReader()
  const decoder = new TextDecoder()
  let buffered = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) throw new Error(`the server exited before listening:\n${buffered}`)
    buffered += decoder.decode(value, { stream: true })
    const line = buffered.split('\n').find((l) => l.includes('users-service listening'))
    if (line) {
      logs.push(buffered)
      void (async () => {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) logs.push(decoder.decode(chunk.value))
      })()
      return JSON.parse(line)
    }
  }
}
