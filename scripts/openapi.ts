/**
 * Writes openapi.json from the routes (`bun run openapi`), or with `--check` exits 1 when the
 * committed file differs from what the routes generate.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { createApp } from '../src/app'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import { createMetrics } from '../src/observability/metrics'
import { generateOpenApi } from '../src/openapi'

const unavailable = () => {
  throw new Error('generating the document never calls a dependency')
}
// The document depends only on the routes; no dependency is ever called while generating it.
const app = createApp({
  config: testConfig(),
  users: new Proxy({} as never, { get: () => unavailable }),
  passwords: { hash: unavailable, verify: unavailable },
  database: { ping: unavailable },
  logger: { info: unavailable, warn: unavailable, error: unavailable },
  metrics: createMetrics(),
  authenticator: createAuthenticator({ apiKeys: [], jwt: undefined }),
  failedAttempts: new Proxy({} as never, { get: () => unavailable }),
  idempotency: new Proxy({} as never, { get: () => unavailable }),
})

const path = new URL('../openapi.json', import.meta.url)
const generated = `${JSON.stringify(generateOpenApi(app), null, 2)}\n`

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
