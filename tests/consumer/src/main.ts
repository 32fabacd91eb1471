/**
 * Runs usage.ts against a live users-service: `USERS_SERVICE_URL` (and `USERS_SERVICE_TOKEN`) say
 * where and as whom. Prints `consumer ok: <steps>` when every step held; exits 1 otherwise. No
 * top-level await, so the same file runs as CommonJS.
 */
import { createUsersClient } from '@users-service/client'
import { useEveryRoute } from './usage.js'

// The setups compile with `"types": []`, as a client must work without Node's types.
declare const process: { env: Record<string, string | undefined>; exitCode?: number }

async function main(): Promise<string[]> {
  const baseUrl = process.env.USERS_SERVICE_URL
  if (!baseUrl) throw new Error('set USERS_SERVICE_URL')
  const token = process.env.USERS_SERVICE_TOKEN
  const client = createUsersClient({
    baseUrl,
    ...(token ? { token: () => token } : {}),
    headers: () => ({ 'X-Request-Id': `consumer-${Date.now()}` }),
  })
  const tag = `${process.env.CONSUMER_TAG ?? 'c'}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  return useEveryRoute(client, tag)
}

main().then(
  (steps) => console.log(`consumer ok: ${steps.join(', ')}`),
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  },
)
