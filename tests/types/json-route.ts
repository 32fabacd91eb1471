/** Type test, compiled by `bun run typecheck` and never run (see README.md): a route whose responses all have content. */
import type { Handler } from '../../src/http/handler'
import { problem } from '../../src/http/problem'
import type { listUsers } from '../../src/users/users.routes'

type ListUsers = Handler<typeof listUsers>
const page = { items: [], nextCursor: null }

/** Every declared status compiles. */
export const declared: ListUsers[] = [(c) => c.json(page, 200), (c) => problem(c, 'validation_failed', 'bad query')]

// @ts-expect-error 429 is not declared on GET /v1/users
export const undeclaredProblem: ListUsers = (c) => problem(c, 'rate_limited', 'slow down')
// @ts-expect-error 201 is not declared on GET /v1/users
export const undeclaredStatus: ListUsers = (c) => c.json(page, 201)
// @ts-expect-error a plain Response carries no declared status
export const plainResponse: ListUsers = () => new Response(null, { status: 429 })
