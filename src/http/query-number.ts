import { z } from '@hono/zod-openapi'

/**
 * A whole-number query parameter, written in decimal digits only, between `min` and `max`.
 * `z.coerce.number()` also read `0x10`, `1e2`, `+2`, `2.0` and ` 2` (Number's own parsing), and an
 * empty or blank value as 0 (a consumer's review): the document says `integer`, so those are 400s.
 * The OpenAPI shape is spelled out, as the generator documents a piped string otherwise.
 */
export function wholeNumberParameter(options: {
  min: number
  max: number
  default: number
  message?: string
  description?: string
}) {
  return z
    .string()
    .regex(/^\d+$/, options.message ?? 'must be a whole number, in digits')
    .pipe(z.coerce.number<string>().int().min(options.min).max(options.max))
    .default(options.default)
    .openapi({
      type: 'integer',
      minimum: options.min,
      maximum: options.max,
      default: options.default,
      ...(options.description ? { description: options.description } : {}),
    })
}
