import { createApp } from './app'
import { ConfigError, loadConfig } from './config'
import { type EmbeddedDatabase, startEmbeddedDatabase } from './db/embedded'
import { connectDatabase } from './db/mongo'
import { createLogger } from './logger'
import { createBunPasswordHasher } from './users/passwords.bun'
import { createUsersRepository } from './users/users.repository'

/** Bun entry point: configuration, database, HTTP server, shutdown. */

let config: ReturnType<typeof loadConfig>
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  console.error(error.message)
  process.exit(1)
}

const logger = createLogger(config)
let embedded: EmbeddedDatabase | undefined
let mongodbUri = config.mongodbUri
if (!mongodbUri) {
  embedded = await startEmbeddedDatabase({
    dataDir: config.devDbDataDir,
    onProgress: (message) => logger.info({}, message),
  })
  mongodbUri = embedded.uri
  logger.warn(
    { uri: mongodbUri, dataDir: config.devDbDataDir },
    'MONGODB_URI is not set: using the embedded FerretDB database (development only)',
  )
}

const database = await connectDatabase(mongodbUri, config.mongodbDb)
const users = createUsersRepository(database.db)
await users.ensureIndexes()

const app = createApp({ config, users, passwords: createBunPasswordHasher(), database, logger })
const server = Bun.serve({ fetch: app.fetch, hostname: config.host, port: config.port })
logger.info({ url: server.url.href, env: config.env }, 'users-service listening')

let stopping = false
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  logger.info({ signal }, 'shutting down')
  // Stop accepting, let in-flight requests finish, then release the database.
  await server.stop()
  await database.close()
  await embedded?.stop()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
