import type { MiddlewareHandler } from 'hono'
import { toJsonPointer } from './errors'
import { problem } from './problem'
import type { AppEnv } from './types'

/**
 * For routes without a query schema (lists have strict ones): a query parameter the operation does
 * not declare is refused with 400 `unknown_field`, never ignored, as API.md says of unknown fields
 * in query strings. A client sending `?dryRun=true` to a PATCH, or a mistyped `?includedeleted`,
 * learns before anything happens that the operation does not do what it asked.
 */
export function onlyQuery(...declared: string[]): MiddlewareHandler<AppEnv> {
  const allowed = new Set(declared)
  return async (c, next) => {
    // Most requests carry no query string: one scan of the URL and on.
    if (!c.req.url.includes('?')) return next()
    const unknown = [...new Set(new URL(c.req.url).searchParams.keys())].filter((name) => !allowed.has(name))
    if (unknown.length === 0) return next()
    const message = 'is not a parameter of this operation'
    return problem(c, 'validation_failed', 'The request query parameter is invalid: see errors.', {
      errors: unknown.map((name) => ({
        location: 'query' as const,
        pointer: toJsonPointer([name]),
        code: 'unknown_field',
        message,
      })),
    })
  }
}
