import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { withDeadline } from './deadline'
import { startService, stopOnSignals } from './service'
import { createNodePasswordHasher } from './users/passwords.node'

/** Node entry point: `bun run build:node`, then `node dist/node/node.js`. Same app, same config. */
const { config, logger, app, beginShutdown, close } = await startService(createNodePasswordHasher())
const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info: AddressInfo) => {
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
  logger.info(
    { url: `http://${host}:${info.port}/`, env: config.env, runtime: `node ${process.version}` },
    'users-service listening',
  )
})

stopOnSignals(logger, async () => {
  // Unready, stop accepting, let in-flight requests finish (up to the deadline), release the database.
  beginShutdown()
  const closed = new Promise<void>((done, fail) => server.close((error) => (error ? fail(error) : done())))
  // Idle keep-alive connections would hold close() open until their clients hang up.
  if ('closeIdleConnections' in server) server.closeIdleConnections()
  if ((await withDeadline(closed, config.shutdownTimeoutMs)) === 'timed out') {
    logger.warn({ deadlineMs: config.shutdownTimeoutMs }, 'requests still running at the shutdown deadline: closing them')
    if ('closeAllConnections' in server) server.closeAllConnections()
  }
  await close()
})
