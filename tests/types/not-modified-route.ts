/**
 * Type test, compiled by `bun run typecheck` and never run (see README.md): a route that declares
 * a 304. zod-openapi's `RouteHandler` accepts any `Response` on such a route; `Handler` does not.
 */
import type { Handler } from '../../src/http/handler'
import { problem } from '../../src/http/problem'
import type { getUserByUsername } from '../../src/users/users.routes'

type GetUserByUsername = Handler<typeof getUserByUsername>

/** Every declared status compiles. */
export const declared: GetUserByUsername[] = [
  (c) => c.body(null, 304, { ETag: '"1"' }),
  (c) => problem(c, 'user_not_found', 'nobody'),
  (c) => problem(c, 'service_unavailable', 'later'),
]

// @ts-expect-error 429 is not declared on GET /v1/users/by-username/{username}
export const undeclaredProblem: GetUserByUsername = (c) => problem(c, 'rate_limited', 'slow down')
// @ts-expect-error 204 is not declared on GET /v1/users/by-username/{username}
export const undeclaredEmpty: GetUserByUsername = (c) => c.body(null, 204)
// @ts-expect-error a plain Response carries no declared status
export const plainResponse: GetUserByUsername = () => new Response(null, { status: 429 })
