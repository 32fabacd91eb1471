import { afterAll } from 'bun:test'
import { type AppDeps, createApp } from '../../src/app'
import { createAuthenticator } from '../../src/auth/authenticate'
import { createUsersClient } from '../../src/client'
import { testConfig } from '../../src/config'
import { connectDatabase } from '../../src/db/mongo'
import type { Logger } from '../../src/logger'
import { createMetrics } from '../../src/observability/metrics'
import { createStores, storesOptionsOf } from '../../src/stores'
import { createBunPasswordHasher } from '../../src/users/passwords.bun'

export type LogLine = { level: 'debug' | 'info' | 'warn' | 'error'; object: object; message?: string }

/** A logger that keeps every line, so tests can search what would have been logged. */
export function captureLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  const log = (level: LogLine['level']) => (object: object, message?: string) => void lines.push({ level, object, message })
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

/**
 * A test file's world: its own database on the run's server (dropped after the file), the
 * service's stores on it (src/stores.ts, as the service builds them), the app built with real
 * dependencies, and the typed client calling the app in-process. `raw` sends hand-made requests for what the typed client would refuse to build.
 */
export async function useTestApp(
  options: {
    name: string
    deps?: Partial<AppDeps>
    clock?: () => Date
    /** Share another app's database: a second service instance, with its own client and stores. */
    sameDatabaseAs?: { db: { databaseName: string } }
  } = { name: 'test' },
) {
  const dbName = options.sameDatabaseAs?.db.databaseName ?? `test_${options.name}_${crypto.randomUUID().slice(0, 8)}`
  const database = await connectDatabase(globalThis.testMongoUri, dbName)
  const { db } = database
  const config = options.deps?.config ?? testConfig()
  const stores = createStores(database, {
    ...storesOptionsOf(config),
    ...(options.clock ? { clock: options.clock } : {}),
  })
  await stores.open()
  const { users, failedAttempts, idempotency, webhooks, events } = stores
  const logger = captureLogger()
  const deps: AppDeps = {
    config,
    users,
    passwords: createBunPasswordHasher(),
    database,
    logger,
    metrics: createMetrics({ poolStats: database.poolStats }),
    // Auth off unless a test brings its own: most tests are about other things.
    authenticator: createAuthenticator({ apiKeys: [], jwt: undefined }),
    failedAttempts,
    idempotency,
    webhooks,
    events,
    ...(options.clock ? { clock: options.clock } : {}),
    ...options.deps,
  }
  const app = createApp(deps)
  const fetchApp = (input: RequestInfo | URL, init?: RequestInit) => app.fetch(new Request(input, init))
  const api = createUsersClient({ baseUrl: 'http://users.test', fetch: fetchApp as typeof fetch })
  const raw = (path: string, init?: RequestInit) => fetchApp(`http://users.test${path}`, init)
  /** `raw` with a method, and a JSON body when given (the race tests' requests, on any surface). */
  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    if (body === undefined) return raw(path, { method, headers })
    const init = json(body)
    return raw(path, { ...init, method, headers: { ...(init.headers as Record<string, string>), ...headers } })
  }

  afterAll(async () => {
    stores.close()
    await db.dropDatabase()
    await database.close()
  })

  /** Creates a user through the API (a valid, unique one unless overridden) and returns it. */
  const createUser = async (overrides: Record<string, unknown> = {}) => {
    const res = await api.v1.users.$post({ json: newUser(overrides) })
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(await res.json())}`)
    return res.json()
  }

  return {
    app,
    api,
    raw,
    send,
    createUser,
    db,
    database,
    users,
    webhooks,
    stores,
    logger,
    deps,
    collection: db.collection('users'),
  }
}

let counter = 0
/** A valid, unique create body; override what the test is about. */
export function newUser(overrides: Record<string, unknown> = {}) {
  const n = `${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`
  return { username: `user${n}`, email: `user${n}@example.com`, ...overrides }
}

export const json = (body: unknown, contentType = 'application/json'): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': contentType },
  body: typeof body === 'string' ? body : JSON.stringify(body),
})
