import { startService, stopOnSignals } from './service'
import { createBunPasswordHasher } from './users/passwords.bun'

/** Bun entry point (`bun src/index.ts`). */
const { config, logger, app, close } = await startService(createBunPasswordHasher())
const server = Bun.serve({ fetch: app.fetch, hostname: config.host, port: config.port })
logger.info({ url: server.url.href, env: config.env, runtime: `bun ${Bun.version}` }, 'users-service listening')

stopOnSignals(logger, async () => {
  // Stop accepting, let in-flight requests finish, then release the database.
  await server.stop()
  await close()
})
