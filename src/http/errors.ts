import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ZodError } from 'zod'
import { AppError } from './app-error'
import { problem, type ValidationIssue } from './problem'
import type { AppEnv } from './types'

const locations = { json: 'body', query: 'query', param: 'path', header: 'header' } as const

/** RFC 6901: `~` and `/` inside a reference token are escaped as `~0` and `~1`. */
export function toJsonPointer(path: readonly PropertyKey[]): string {
  return path.map((key) => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
}

/** Flattens a zod error into one issue per offending value (one per unknown key, too). */
function toValidationIssues(error: ZodError, location: ValidationIssue['location']): ValidationIssue[] {
  return error.issues.flatMap((issue): ValidationIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        location,
        pointer: toJsonPointer([...issue.path, key]),
        code: 'unknown_field',
        message: 'is not a recognised field',
      }))
    }
    return [{ location, pointer: toJsonPointer(issue.path), code: issue.code, message: messageOf(issue) }]
  })
}

/**
 * zod's own words for the commonest mistake read as a type system's ("Invalid input: expected
 * string, received undefined"); said as the rest of the messages say things. The code stays.
 * (Numbers in a query are digits first, src/http/query-number.ts, so zod never sees NaN.)
 */
function messageOf(issue: ZodError['issues'][number]): string {
  if (issue.code !== 'invalid_type') return issue.message
  if (issue.message.endsWith('received undefined')) return 'is required'
  return issue.message
}

/**
 * The `defaultHook` of every OpenAPIHono router: a failed validation becomes a 400
 * `validation_failed` problem listing every issue. Synchronous on purpose (an async hook does not
 * type-check, honojs/middleware#1479).
 */
export function validationHook(
  result: { success: true } | { success: false; error: ZodError; target: string },
  c: Context<AppEnv>,
) {
  if (result.success) return
  const location = locations[result.target as keyof typeof locations] ?? 'body'
  const errors = toValidationIssues(result.error, location)
  const where = [...new Set(errors.map((e) => (e.location === 'body' ? 'body' : `${e.location} parameter`)))].join(', ')
  return problem(c, 'validation_failed', `The request ${where} is invalid: see errors.`, { errors })
}

/** Maps anything thrown while handling a request to a problem response. Never leaks internals. */
export function handleError(onUnexpected: (error: unknown, c: Context<AppEnv>) => void): ErrorHandler<AppEnv> {
  return (error, c) => {
    if (error instanceof AppError) return problem(c, error.code, error.detail, error.extra)
    if (error instanceof HTTPException) {
      switch (error.status) {
        // Hono's JSON validator is the only source of a bare 400 on our routes.
        case 400:
          return problem(c, 'malformed_json', 'The request body is not valid JSON.')
        case 413:
          return payloadTooLarge(c)
        case 415:
          return problem(c, 'unsupported_media_type', `Send the body as application/json (got '${describeContentType(c)}').`)
      }
    }
    if (clientWentAway(error, c)) return clientClosedRequest()
    onUnexpected(error, c)
    return problem(c, 'internal_error', 'An unexpected error occurred. Quote the request id when reporting it.')
  }
}

/**
 * The status counted for a request whose client closed the connection before the service could
 * answer (nginx's non-standard 499 "client closed request"): not a server error, so it neither
 * counts as a 5xx nor logs as one. Nobody receives the response.
 */
export const CLIENT_CLOSED_REQUEST = 499

/**
 * True when reading the request failed because the client went away (mid-body, typically): the
 * request's signal is aborted (Bun and @hono/node-server both abort it when the connection closes)
 * and the error is the read's abort (Bun: an AbortError; Node: ECONNRESET "aborted"). A real
 * failure that merely coincides with a client leaving is still reported as one.
 */
function clientWentAway(error: unknown, c: Context): boolean {
  if (!c.req.raw.signal.aborted || !(error instanceof Error)) return false
  return error.name === 'AbortError' || (error as NodeJS.ErrnoException).code === 'ECONNRESET'
}

function clientClosedRequest(): Response {
  return new Response(null, { status: CLIENT_CLOSED_REQUEST })
}

/** 413; `maxBytes` is named in the detail, so a client knows what would fit. */
export function payloadTooLarge(c: Context<AppEnv>, maxBytes?: number) {
  const limit = maxBytes === undefined ? 'the configured limit' : `the limit of ${maxBytes} bytes`
  return problem(c, 'payload_too_large', `The request body exceeds ${limit}.`, {
    // The body was not read; tell well-behaved clients the connection will not be reused for it.
    headers: { Connection: 'close' },
  })
}

function describeContentType(c: Context): string {
  const value = c.req.header('content-type')
  if (!value) return 'none'
  return value.length > 100 ? `${value.slice(0, 100)}…` : value
}

export const notFound: NotFoundHandler<AppEnv> = (c) => problem(c, 'not_found', `No route matches ${c.req.method} ${c.req.path}.`)

export function methodNotAllowed(c: Context<AppEnv>, allowed: string[]) {
  return problem(c, 'method_not_allowed', `${c.req.method} is not allowed here; use ${allowed.join(', ')}.`, {
    headers: { Allow: allowed.join(', ') },
  })
}
