import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from './types'

const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

/**
 * Accepts the caller's `X-Request-Id` when it is safe to log and echo (a restricted alphabet, so
 * no header or log injection), otherwise generates one; echoes it on every response.
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const offered = c.req.header('x-request-id')
    const id = offered && ACCEPTED_REQUEST_ID.test(offered) ? offered : crypto.randomUUID()
    c.set('requestId', id)
    await next()
    c.res.headers.set('X-Request-Id', id)
  }
}
