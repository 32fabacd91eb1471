import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { startService, stopOnSignals } from './service'
import { createNodePasswordHasher } from './users/passwords.node'

/** Node entry point: `bun run build:node`, then `node dist/node/node.js`. Same app, same config. */
const { config, logger, app, close } = await startService(createNodePasswordHasher())
const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info: AddressInfo) => {
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
  logger.info(
    { url: `http://${host}:${info.port}/`, env: config.env, runtime: `node ${process.version}` },
    'users-service listening',
  )
})

stopOnSignals(logger, async () => {
  // Stop accepting, let in-flight requests finish, then release the database.
  await new Promise<void>((done, fail) => server.close((error) => (error ? fail(error) : done())))
  await close()
})
