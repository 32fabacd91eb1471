/**
 * The service without a database: createApp exactly as src/index.ts wires it (configuration from
 * the environment, auth, request logs, metrics, Bun.serve), except that the users live in memory.
 * Measures what the service itself costs per request. Env as for the service (PORT, AUTH_API_KEYS,
 * LOG_LEVEL...); MONGODB_URI is required by production configuration but never connected to.
 */
import { createApp } from '../../src/app'
import { createAuthenticator } from '../../src/auth/authenticate'
import { loadConfig } from '../../src/config'
import { createDatabase } from '../../src/db/mongo'
import { createLogger } from '../../src/logger'
import { createMetrics } from '../../src/observability/metrics'
import { createBunPasswordHasher } from '../../src/users/passwords.bun'
import { createWebhookStores } from '../../src/webhooks/webhooks.stores'
import { benchUsers, createMemoryUsersRepository, noEvents, noFailedAttempts, noIdempotency } from './memory-users'

const config = loadConfig()
const app = createApp({
  config,
  users: createMemoryUsersRepository(benchUsers(200)),
  passwords: createBunPasswordHasher(),
  database: { ping: async () => {} },
  logger: createLogger(config),
  metrics: createMetrics(),
  authenticator: createAuthenticator(config.auth),
  failedAttempts: noFailedAttempts,
  idempotency: noIdempotency,
  // Never connected: no benchmarked request reaches the webhook routes.
  webhooks: createWebhookStores(createDatabase('mongodb://127.0.0.1:9/', 'nodb')),
  events: noEvents,
})
Bun.serve({ fetch: app.fetch, hostname: config.host, port: config.port })
