/**
 * Writes openapi.json from the routes (`bun run openapi`), or with `--check` exits 1 when the
 * committed file differs from what the routes generate.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { createApp } from '../src/app'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import { createDatabase } from '../src/db/mongo'
import { createLogger } from '../src/logger'
import { createMetrics } from '../src/observability/metrics'
import { generateOpenApi } from '../src/openapi'
import { createStores } from '../src/stores'
import { createBunPasswordHasher } from '../src/users/passwords.bun'

// The app exactly as the service builds it, on a database handle that is never connected: the
// document depends only on the routes, and building the app does no I/O.
const config = testConfig()
const database = createDatabase('mongodb://127.0.0.1:9/', 'openapi')
const app = createApp({
  ...createStores(database, { failureWindowSeconds: config.auth.failures.windowSeconds }),
  config,
  passwords: createBunPasswordHasher(),
  database,
  logger: createLogger({ logLevel: 'silent', logFormat: 'json' }),
  metrics: createMetrics(),
  authenticator: createAuthenticator(config.auth),
})

const path = new URL('../openapi.json', import.meta.url)
const generated = `${JSON.stringify(generateOpenApi(app), null, 2)}\n`
await database.close()

if (process.argv.includes('--check')) {
  const committed = await readFile(path, 'utf8').catch(() => '')
  if (committed !== generated) {
    console.error('openapi.json is out of date: run `bun run openapi` and commit the result.')
    process.exit(1)
  }
  console.log('openapi.json is up to date.')
} else {
  await writeFile(path, generated)
  console.log(`wrote ${path.pathname}`)
}
