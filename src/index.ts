import { withDeadline } from './deadline'
import { bunIdleTimeout, type IdleTimer, servedOnBun } from './http/request-target'
import { startService, stopOnSignals } from './service'
import { exitOnSignalsWhileStarting, exitOnStartupFailure } from './startup'
import { createMetricsApp } from './system/metrics'
import { createBunPasswordHasher } from './users/passwords.bun'

/**
 * Bun entry point (`bun src/index.ts`; the container runs its bundle, `bun run build:bun`). No
 * top-level await: the bundle is CommonJS with precompiled bytecode, which starts in about half the
 * time of the sources (docs/performance.md, "Startup").
 */
async function main(): Promise<void> {
  // First: a signal while starting exits at once (143/130) instead of being dropped as PID 1.
  const started = exitOnSignalsWhileStarting()
  const { config, logger, app, metrics, unready, beginShutdown, close, listening, cutAtDeadline } = await startService(
    createBunPasswordHasher(),
  ).catch((error) => exitOnStartupFailure(error))
  // Idle kept-alive connections stay open HTTP_IDLE_TIMEOUT_SECONDS at least, past a load balancer's idle timeout.
  const idleTimeout = bunIdleTimeout(config.httpIdleTimeoutSeconds)
  /** Listens on `port`, or exits with one line (a port taken since the check in startService). */
  function serve(fetch: (request: Request, env: IdleTimer) => Response | Promise<Response>, port: number) {
    try {
      return Bun.serve({ fetch: servedOnBun(fetch, idleTimeout), hostname: config.host, port, idleTimeout })
    } catch (error) {
      return exitOnStartupFailure(error)
    }
  }
  const server = serve(app.fetch, config.port)
  // METRICS_PORT: /metrics on a listener of its own, and only there.
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : serve(createMetricsApp({ metrics, token: config.metricsToken }).fetch, config.metricsPort)
  listening({
    url: server.url.href,
    ...(metricsServer ? { metricsUrl: `${metricsServer.url.href}metrics` } : {}),
  })

  stopOnSignals(logger, {
    delayMs: config.shutdownDelayMs,
    unready,
    // After the delay: stop accepting, let in-flight requests finish (up to the deadline), release the database.
    stop: async () => {
      beginShutdown()
      if ((await withDeadline(server.stop(), config.shutdownTimeoutMs)) === 'timed out') {
        cutAtDeadline()
        await server.stop(true)
      }
      await metricsServer?.stop(true)
      await close()
    },
  })
  // The orderly shutdown is in place: the startup's handlers go.
  started()
}

void main()
