/**
 * The service's own cost per request, in one process and without a socket: createApp as
 * nodb-service.ts builds it (production configuration, an API key, request logs at info, metrics,
 * security headers) on the in-memory users, driven by `app.fetch` in a loop. Prints the CPU µs per
 * request of each workload (median of alternating rounds); the figure to compare before and after
 * a change on a busy machine, and the loop to profile:
 *
 *   bun scripts/bench/app-loop.ts [--requests 20000] [--rounds 5] [--only get-by-id,patch] >/dev/null
 *   bun --cpu-prof-md --cpu-prof-dir=/tmp/prof scripts/bench/app-loop.ts --only get-by-id >/dev/null
 *
 * `--before <folder>` runs a second app beside this one, in the same process and alternating with
 * it: the `src/` of another checkout (`git worktree add /tmp/before <revision>`, or `git archive
 * <revision> | tar -x -C /tmp/before` with a `node_modules` symlink). Paired rounds in one process
 * keep a busy machine's noise out of the before/after ratio. The request log goes to stdout like
 * the service's: send it to /dev/null (results go to stderr).
 */
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { median } from './lib'
import { benchUsers, createMemoryUsersRepository, noEvents, noFailedAttempts, noIdempotency } from './memory-users'

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
    // Another checkout's src/ (e.g. `git worktree add /tmp/before <rev>`): its app runs beside this one.
    before: { type: 'string' },
  },
})
const apiKey = 'usk_app_loop_key_0123456789abcdef'
process.env.NODE_ENV = 'production'
process.env.MONGODB_URI ??= 'mongodb://127.0.0.1:1'
process.env.LOG_LEVEL = process.env.APP_LOOP_LOG_LEVEL ?? 'info'
process.env.METRICS_PUBLIC = 'true'
process.env.AUTH_API_KEYS = JSON.stringify([
  { name: 'bench', sha256: createHash('sha256').update(apiKey).digest('hex'), scopes: ['users:read', 'users:write'] },
])
const users = benchUsers(200)

/** The app of the `src/` folder at `root`, wired as nodb-service.ts wires it. */
async function buildApp(root: string): Promise<{ fetch: (request: Request) => Response | Promise<Response> }> {
  const load = async <T>(path: string): Promise<T> => (await import(`${root}/src/${path}`)) as T
  const { createApp } = await load<typeof import('../../src/app')>('app')
  const { createAuthenticator } = await load<typeof import('../../src/auth/authenticate')>('auth/authenticate')
  const { loadConfig } = await load<typeof import('../../src/config')>('config')
  const { createLogger } = await load<typeof import('../../src/logger')>('logger')
  const { createMetrics } = await load<typeof import('../../src/observability/metrics')>('observability/metrics')
  const { createBunPasswordHasher } = await load<typeof import('../../src/users/passwords.bun')>('users/passwords.bun')
  const { createDatabase } = await load<typeof import('../../src/db/mongo')>('db/mongo')
  const { createWebhookStores } = await load<typeof import('../../src/webhooks/webhooks.stores')>('webhooks/webhooks.stores')
  const config = loadConfig()
  return createApp({
    config,
    users: createMemoryUsersRepository(users.map((u) => ({ ...u }))),
    passwords: createBunPasswordHasher(),
    database: { ping: async () => {} },
    logger: createLogger(config),
    metrics: createMetrics(),
    authenticator: createAuthenticator(config.auth),
    failedAttempts: noFailedAttempts,
    idempotency: noIdempotency,
    // Never connected: no measured request reaches the webhook routes.
    webhooks: createWebhookStores(createDatabase('mongodb://127.0.0.1:9/', 'nodb')),
    events: noEvents,
  })
}
const here = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')
const apps = new Map([['now', await buildApp(here)]])
if (args.before) apps.set('before', await buildApp(args.before.replace(/\/$/, '')))

const auth = { Authorization: `Bearer ${apiKey}` }
const versions = new Map<string, number>()
let created = 0

const WORKLOADS: Record<string, (i: number, app: string) => Request> = {
  'get-by-id': (i) => new Request(`http://localhost/v1/users/${users[i % users.length]?.id}`, { headers: auth }),
  'get-by-username': (i) =>
    new Request(`http://localhost/v1/users/by-username/${users[i % users.length]?.username}`, { headers: auth }),
  patch: (i, app) => {
    const id = users[i % users.length]?.id ?? ''
    return new Request(`http://localhost/v1/users/${id}`, {
      method: 'PATCH',
      headers: { ...auth, 'Content-Type': 'application/json', 'If-Match': `"${versions.get(`${app} ${id}`) ?? 1}"` },
      body: JSON.stringify({ displayName: `Name ${i}` }),
    })
  },
  create: () => {
    created++
    return new Request('http://localhost/v1/users', {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: `loop${created}`, email: `loop${created}@example.com` }),
    })
  },
}
const chosen = args.only ? args.only.split(',') : Object.keys(WORKLOADS)
const requests = Number(args.requests)
const rounds = Number(args.rounds)

/** CPU µs per request over `count` requests, each awaited in turn (the body read, as a client would). */
async function run(name: string, workload: string, count: number): Promise<number> {
  const make = WORKLOADS[workload]
  const app = apps.get(name)
  if (!make || !app) throw new Error(`unknown workload ${workload}`)
  const before = process.cpuUsage()
  for (let i = 0; i < count; i++) {
    const response = await app.fetch(make(i, name))
    const text = await response.text()
    if (response.status >= 400) throw new Error(`${workload}: ${response.status} ${text}`)
    if (workload === 'patch') {
      const id = users[i % users.length]?.id ?? ''
      versions.set(`${name} ${id}`, Number(response.headers.get('ETag')?.replaceAll('"', '')))
    }
  }
  const used = process.cpuUsage(before)
  return (used.user + used.system) / count
}

const names = [...apps.keys()]
for (const workload of chosen) for (const name of names) await run(name, workload, Math.min(requests, 5000)) // warm-up
const results = new Map<string, number[]>()
for (let round = 0; round < rounds; round++) {
  for (const workload of round % 2 ? [...chosen].reverse() : chosen) {
    for (const name of round % 2 ? [...names].reverse() : names) {
      const key = `${workload} ${name}`
      results.set(key, [...(results.get(key) ?? []), await run(name, workload, requests)])
    }
  }
}
for (const workload of chosen) {
  const base = median(results.get(`${workload} now`) ?? [])
  for (const name of names) {
    const runs = results.get(`${workload} ${name}`) ?? []
    const ratio = name === 'now' ? '' : ` (now is ${(base / median(runs)).toFixed(2)}× this)`
    process.stderr.write(
      `${workload.padEnd(16)} ${name.padEnd(6)} ${median(runs).toFixed(1).padStart(6)} µs CPU/req${ratio} (runs ${runs.map((r) => r.toFixed(1)).join(', ')})\n`,
    )
  }
}
