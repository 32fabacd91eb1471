import type { MiddlewareHandler } from 'hono'
import { problem } from './problem'
import type { AppEnv } from './types'

/**
 * For POST routes that take no request body (restore, erase): a body is refused with 400, never
 * ignored, so a client that believes it passes options (a new username for the restore, say)
 * learns that it does not before anything happens. Reading it keeps the body limit (413).
 */
export function noBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const bytes = await c.req.arrayBuffer()
    if (bytes.byteLength === 0) return next()
    const message = 'must be empty: this operation takes no request body'
    return problem(c, 'validation_failed', 'This operation takes no request body.', {
      errors: [{ location: 'body', pointer: '', code: 'unexpected_body', message }],
    })
  }
}
