/**
 * Starts a peer the way the benchmark harness does (only PATH, HOME and the peer's own env, a free
 * loopback port) and keeps everything it prints, so the conformance check can insist on silence.
 */

function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const { port } = server
  server.stop(true)
  return port
}

export type Peer = {
  name: string
  url: string
  /** Stops it; resolves to everything it printed. */
  stop(): Promise<string>
}

/** Starts the peer and waits for its first 200 on /healthz. */
export async function startPeer(name: string, command: string[], env: Record<string, string>): Promise<Peer> {
  const port = freePort()
  const proc = Bun.spawn(command, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited: ${(await output).join('')}`)
    if (Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`${name} did not answer /healthz within 60 s`)
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) break
    } catch {}
    await Bun.sleep(50)
  }
  return {
    name,
    url,
    stop: async () => {
      proc.kill('SIGTERM')
      await proc.exited
      return (await output).join('')
    },
  }
}
