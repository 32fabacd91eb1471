import { withDeadline } from './deadline'
import { routeOnRequestTarget } from './http/request-target'
import { startService, stopOnSignals } from './service'
import { createMetricsApp } from './system/metrics'
import { createBunPasswordHasher } from './users/passwords.bun'

/** Bun entry point (`bun src/index.ts`). */
const { config, logger, app, metrics, beginShutdown, close } = await startService(createBunPasswordHasher())
const server = Bun.serve({ fetch: routeOnRequestTarget(app.fetch), hostname: config.host, port: config.port })
// METRICS_PORT: /metrics on a listener of its own, and only there.
const metricsServer =
  config.metricsPort === undefined
    ? undefined
    : Bun.serve({
        fetch: routeOnRequestTarget(createMetricsApp({ metrics, token: config.metricsToken }).fetch),
        hostname: config.host,
        port: config.metricsPort,
      })
logger.info(
  {
    url: server.url.href,
    ...(metricsServer ? { metricsUrl: `${metricsServer.url.href}metrics` } : {}),
    env: config.env,
    runtime: `bun ${Bun.version}`,
  },
  'users-service listening',
)

stopOnSignals(logger, async () => {
  // Unready, stop accepting, let in-flight requests finish (up to the deadline), release the database.
  beginShutdown()
  if ((await withDeadline(server.stop(), config.shutdownTimeoutMs)) === 'timed out') {
    logger.warn({ deadlineMs: config.shutdownTimeoutMs }, 'requests still running at the shutdown deadline: closing them')
    await server.stop(true)
  }
  await metricsServer?.stop(true)
  await close()
})
