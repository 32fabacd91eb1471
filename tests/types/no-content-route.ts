/**
 * Type test, compiled by `bun run typecheck` and never run (see README.md): a route that declares
 * a 204. zod-openapi's `RouteHandler` accepts any `Response` on such a route; `Handler` does not.
 */
import type { Handler } from '../../src/http/handler'
import { problem } from '../../src/http/problem'
import type { deleteUser } from '../../src/users/users.routes'

type DeleteUser = Handler<typeof deleteUser>

/** Every declared status compiles. */
export const declared: DeleteUser[] = [
  (c) => c.body(null, 204),
  (c) => problem(c, 'user_not_found', 'gone'),
  (c) => problem(c, 'precondition_failed', 'stale'),
]

// @ts-expect-error 429 is not declared on DELETE /v1/users/{id}
export const undeclaredProblem: DeleteUser = (c) => problem(c, 'rate_limited', 'slow down')
// @ts-expect-error 202 is not declared on DELETE /v1/users/{id}
export const undeclaredEmpty: DeleteUser = (c) => c.body(null, 202)
// @ts-expect-error a plain Response carries no declared status
export const plainResponse: DeleteUser = () => new Response(null, { status: 429 })
