import type { Context } from 'hono'
import { AppError } from './app-error'

/**
 * A `true`/`false` query parameter that a route declares as a plain OpenAPI parameter rather than
 * in a zod query schema (which would make every typed-client call of the route pass `query`).
 * Absent is false; any other value, or the parameter sent twice, is a 400 like a schema's.
 */
export function readQueryFlag(c: Context, name: string): boolean {
  const values = c.req.queries(name)
  if (values === undefined) return false
  const [value] = values
  if (values.length === 1 && (value === 'true' || value === 'false')) return value === 'true'
  const message = "must be 'true' or 'false', once"
  throw new AppError('validation_failed', `The query parameter ${name} ${message}.`, {
    errors: [{ location: 'query', pointer: `/${name}`, code: 'invalid_value', message }],
  })
}
