/**
 * The no-database baseline: raw Bun.serve answering GET /v1/users/:id with the same user JSON and
 * ETag the service would send, from a Map. Env: PORT.
 */
import { benchUsers } from './memory-users'

const users = new Map(benchUsers(200).map((user) => [user.id, user]))

Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.env.PORT),
  routes: {
    '/healthz': () => Response.json({ status: 'ok' }),
    '/v1/users/:id': (req) => {
      const user = users.get(req.params.id)
      return user ? Response.json(user, { headers: { ETag: `"${user.version}"` } }) : new Response(null, { status: 404 })
    },
  },
})
