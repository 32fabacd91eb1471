/**
 * A contender for bench:overhead: the service's app (createApp) on Bun.serve, either `full`
 * (auth with a static API key, pino request logs at info written to /dev/null, Prometheus
 * metrics) or `bare` (auth off, no log output, metrics recorded into nothing). Everything else is
 * the shipped code: routing, validation, repository, database.
 */
import { createHash } from 'node:crypto'
import pino from 'pino'
import { createApp } from '../../src/app'
import { createAuthenticator } from '../../src/auth/authenticate'
import { loadConfig } from '../../src/config'
import { connectDatabase } from '../../src/db/mongo'
import { createLogger } from '../../src/logger'
import { createMetrics, type Metrics } from '../../src/observability/metrics'
import { createStores } from '../../src/stores'
import { createBunPasswordHasher } from '../../src/users/passwords.bun'

const variant = process.argv[2]
if (variant !== 'full' && variant !== 'bare') throw new Error('usage: serve-overhead.ts full|bare')
const config = loadConfig()
const database = await connectDatabase(config.mongodbUri ?? '', config.mongodbDb)
const stores = createStores(database, { failureWindowSeconds: config.auth.failures.windowSeconds })
const benchKey = process.env.BENCH_API_KEY ?? ''
const noMetrics: Metrics = {
  observeRequest: () => {},
  countLegacyRequest: () => {},
  countRateLimited: () => {},
  countEventsRelayed: () => {},
  countRelayInvariantFailure: () => {},
  setEventsWaiting: () => {},
  countWebhookAttempt: () => {},
  render: async () => '',
  contentType: 'text/plain',
}
const app = createApp({
  ...stores,
  config,
  passwords: createBunPasswordHasher(),
  database,
  logger:
    variant === 'full'
      ? createLogger({ logLevel: 'info', logFormat: 'json' }, pino.destination({ dest: '/dev/null', sync: false }))
      : createLogger({ logLevel: 'silent', logFormat: 'json' }),
  metrics: variant === 'full' ? createMetrics({ poolStats: database.poolStats }) : noMetrics,
  authenticator: createAuthenticator(
    variant === 'full'
      ? {
          apiKeys: [{ name: 'bench', sha256: createHash('sha256').update(benchKey).digest('hex'), scopes: ['users:read'] }],
          jwt: undefined,
        }
      : { apiKeys: [], jwt: undefined },
  ),
})
Bun.serve({ fetch: app.fetch, hostname: '127.0.0.1', port: config.port })
process.on('SIGTERM', async () => {
  await database.close()
  process.exit(0)
})
