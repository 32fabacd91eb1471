import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { loadDotEnvFiles } from './config'
import { withDeadline } from './deadline'
import { startService, stopOnSignals } from './service'
import { exitOnSignalsWhileStarting, exitOnStartupFailure } from './startup'
import { createMetricsApp } from './system/metrics'
import { createNodePasswordHasher } from './users/passwords.node'

type NodeServer = ReturnType<typeof serve>

/** Node entry point: `bun run build:node`, then `node dist/node/node.js`. Same app, same config. */
// First: a signal while starting exits at once (143/130) instead of being dropped as PID 1.
const started = exitOnSignalsWhileStarting()
// Before anything reads the configuration: .env files, as Bun reads them by itself.
loadDotEnvFiles()
const { config, logger, app, metrics, unready, beginShutdown, close, listening, cutAtDeadline } = await startService(
  createNodePasswordHasher(),
).catch((error) => exitOnStartupFailure(error))

/**
 * Listens with @hono/node-server; resolves with the server and its URL once it listens. Idle
 * kept-alive connections stay open HTTP_IDLE_TIMEOUT_SECONDS (Node closes them 1 s after the time
 * it advertises in `Keep-Alive: timeout=`), past a load balancer's idle timeout; Node's default is
 * 5 s. It does not touch a request being answered. `headersTimeout` keeps Node's default (60 s):
 * since Node 18 it runs per request from its first byte, not across a kept-alive connection's idle
 * time, so the old advice to set it above `keepAliveTimeout` no longer applies (checked on Node 20).
 */
function listen(fetch: (request: Request) => Response | Promise<Response>, port: number) {
  return new Promise<{ server: NodeServer; url: string }>((resolve, reject) => {
    const server = serve({ fetch, hostname: config.host, port }, (info: AddressInfo) => {
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
      resolve({ server, url: `http://${host}:${info.port}/` })
    })
    if ('keepAliveTimeout' in server) server.keepAliveTimeout = config.httpIdleTimeoutSeconds * 1000
    server.once('error', reject)
  })
}

// A port taken since the check in startService: one line, like every startup failure.
const { server, url } = await listen(app.fetch, config.port).catch((error) => exitOnStartupFailure(error))
// METRICS_PORT: /metrics on a listener of its own, and only there.
const metricsListener =
  config.metricsPort === undefined
    ? undefined
    : await listen(createMetricsApp({ metrics, token: config.metricsToken }).fetch, config.metricsPort).catch((error) =>
        exitOnStartupFailure(error),
      )
listening({ url, ...(metricsListener ? { metricsUrl: `${metricsListener.url}metrics` } : {}) })

/** Closes a server: idle keep-alive connections at once, busy ones once answered, or after the deadline. */
async function stop(target: NodeServer, deadlineMs: number, atDeadline: () => void): Promise<void> {
  const closed = new Promise<void>((done, fail) => target.close((error) => (error ? fail(error) : done())))
  // Idle keep-alive connections would hold close() open until their clients hang up, or for
  // HTTP_IDLE_TIMEOUT_SECONDS; a busy one too, once its answer is sent: Node leaves it open.
  const closeIdle = () => 'closeIdleConnections' in target && target.closeIdleConnections()
  closeIdle()
  const sweep = setInterval(closeIdle, 100)
  try {
    if ((await withDeadline(closed, deadlineMs)) === 'timed out') {
      atDeadline()
      if ('closeAllConnections' in target) target.closeAllConnections()
    }
  } finally {
    clearInterval(sweep)
  }
}

stopOnSignals(logger, {
  delayMs: config.shutdownDelayMs,
  unready,
  // After the delay: stop accepting, let in-flight requests finish (up to the deadline), release the database.
  stop: async () => {
    beginShutdown()
    await stop(server, config.shutdownTimeoutMs, cutAtDeadline)
    // Closed at once, as Bun's `stop(true)` does: a scrape cut short is retried by the scraper, and
    // a warning with a deadline of 0 would only be noise.
    if (metricsListener) await stop(metricsListener.server, 0, () => {})
    await close()
  },
})
// The orderly shutdown is in place: the startup's handlers go.
started()
