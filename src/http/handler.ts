import type { RouteConfig, RouteConfigToTypedResponse, RouteHandler } from '@hono/zod-openapi'
import type { Env, TypedResponse } from 'hono'
import type { AppEnv } from './types'

/**
 * A route handler that may return only the responses its route declares, whatever they are.
 * zod-openapi's `RouteHandler` also accepts any `Response` as soon as one declared response has
 * no content (a 204, a 304), so on those routes an undeclared 429 compiled; with this type it does
 * not (tests/types/ proves it, one file per kind of route). Every handler uses it.
 */
export type Handler<R extends RouteConfig, E extends Env = AppEnv> = (
  c: Parameters<RouteHandler<R, E>>[0],
  next: Parameters<RouteHandler<R, E>>[1],
) => DeclaredResponse<R> | Promise<DeclaredResponse<R>>

/**
 * The typed responses of the statuses `R` declares, each a `Response` (what `c.json`, `c.body`
 * and `problem` return), so a handler of this type is also one of zod-openapi's. A response
 * declared without content is typed `TypedResponse<{}, status>` by zod-openapi, which
 * `c.body(null, 204)` does not satisfy (its data is `null`): such responses also accept a null
 * body. The status is never widened: a response of an undeclared status matches no member.
 */
export type DeclaredResponse<R extends RouteConfig> = AsResponse<RouteConfigToTypedResponse<R>>

type AsResponse<T> =
  T extends TypedResponse<infer D, infer S, infer F> ? Response & TypedResponse<NoContent extends D ? D | null : D, S, F> : never

/** What zod-openapi types the data of a response without content as. */
// biome-ignore lint/complexity/noBannedTypes: zod-openapi's own spelling of "no content", matched as is.
type NoContent = {}
