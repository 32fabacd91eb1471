import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'

/**
 * Every problem code the service can answer with, its HTTP status and its title. Routes declare
 * their error responses from this table, and `toProblem` builds bodies from it, so the OpenAPI
 * document, the typed client and the wire format cannot drift apart.
 */
export const problemCatalog = {
  validation_failed: { status: 400, title: 'Request validation failed' },
  malformed_json: { status: 400, title: 'Malformed JSON body' },
  unauthorized: { status: 401, title: 'Authentication required' },
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  forbidden: { status: 403, title: 'Forbidden' },
  user_disabled: { status: 403, title: 'User disabled' },
  user_not_found: { status: 404, title: 'User not found' },
  not_found: { status: 404, title: 'Not found' },
  webhook_not_found: { status: 404, title: 'Webhook not found' },
  delivery_not_found: { status: 404, title: 'Delivery not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  username_taken: { status: 409, title: 'Username already taken' },
  email_taken: { status: 409, title: 'Email already taken' },
  external_id_taken: { status: 409, title: 'External id already taken' },
  idempotency_key_in_use: { status: 409, title: 'Idempotency key in use' },
  webhook_limit_reached: { status: 409, title: 'Webhook limit reached' },
  webhook_disabled: { status: 409, title: 'Webhook disabled' },
  cursor_expired: { status: 410, title: 'Cursor expired' },
  precondition_failed: { status: 412, title: 'Precondition failed' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  idempotency_key_reused: { status: 422, title: 'Idempotency key reused' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
} as const

export type ProblemCode = keyof typeof problemCatalog
export type ProblemStatus<C extends ProblemCode> = (typeof problemCatalog)[C]['status']

const problemCodes = Object.keys(problemCatalog) as [ProblemCode, ...ProblemCode[]]

/** One entry per invalid input; `pointer` is an RFC 6901 JSON pointer into `location`. */
export const ValidationIssueSchema = z
  .object({
    location: z.enum(['body', 'query', 'path', 'header']),
    pointer: z.string().openapi({ example: '/username' }),
    code: z.string().openapi({ example: 'invalid_format' }),
    message: z.string().openapi({ example: 'must be 3-32 characters of [A-Za-z0-9._-]' }),
  })
  .openapi('ValidationIssue')

export type ValidationIssue = z.infer<typeof ValidationIssueSchema>

/**
 * A problem lists at most this many issues, and at most about LISTED_ISSUES_BYTES of them, and
 * counts the rest in `errorsTruncated`: a request with thousands of bad keys otherwise got an
 * answer 17 times its size (issue 13). The first issue is always listed.
 */
const MAX_LISTED_ISSUES = 20
const LISTED_ISSUES_BYTES = 4096

/** The issues a problem lists, and how many it leaves out. */
function listedIssues(issues: ValidationIssue[]): { errors: ValidationIssue[]; errorsTruncated?: number } {
  let bytes = 0
  let listed = 0
  for (const issue of issues.slice(0, MAX_LISTED_ISSUES)) {
    bytes += issue.pointer.length + issue.message.length + issue.code.length
    if (listed > 0 && bytes > LISTED_ISSUES_BYTES) break
    listed++
  }
  if (listed === issues.length) return { errors: issues }
  return { errors: issues.slice(0, listed), errorsTruncated: issues.length - listed }
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'about:blank' }),
    title: z.string().openapi({ example: 'Username already taken' }),
    status: z.number().int().openapi({ example: 409 }),
    code: z.enum(problemCodes).openapi({ description: 'Stable machine-readable error code.' }),
    detail: z.string().openapi({ example: "A user with username 'alice' already exists." }),
    instance: z.string().openapi({ example: '/v1/users' }),
    requestId: z.string().openapi({ example: '8c1d2f4e-0b5e-4c1e-9a43-2f0d0c5e7b1a' }),
    errors: z
      .array(ValidationIssueSchema)
      .max(MAX_LISTED_ISSUES)
      .optional()
      .openapi({ description: `Present on validation_failed: the first ${MAX_LISTED_ISSUES} issues at most.` }),
    errorsTruncated: z.number().int().min(1).optional().openapi({
      description: 'Present when `errors` was cut short: how many more issues the request had.',
      example: 5880,
    }),
    disabledUntil: z.iso.datetime().optional().openapi({
      description: 'With user_disabled: when the disable ends, if it has an end.',
      example: '2026-12-07T00:00:00.000Z',
    }),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details.' })

export type Problem = z.infer<typeof ProblemSchema>

const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** Members a problem carries beyond RFC 9457's and `errors` (declared in ProblemSchema). */
export type ProblemMembers = Pick<Problem, 'disabledUntil'>

/** Builds the body of a problem response for the current request. */
function toProblem(c: Context, code: ProblemCode, detail: string, errors?: ValidationIssue[], members?: ProblemMembers): Problem {
  const { status, title } = problemCatalog[code]
  return {
    type: 'about:blank',
    title,
    status,
    code,
    detail,
    instance: c.req.path,
    requestId: c.get('requestId') ?? 'unknown',
    ...(errors ? listedIssues(errors) : {}),
    ...members,
  }
}

/**
 * Answers with a problem. The status is typed from the catalog, so a handler (typed with
 * src/http/handler.ts's `Handler`) returning `problem(c, 'user_not_found', ...)` type-checks only
 * when its route declares 404.
 */
export function problem<C extends ProblemCode>(
  c: Context,
  code: C,
  detail: string,
  options: { errors?: ValidationIssue[]; headers?: Record<string, string>; members?: ProblemMembers } = {},
) {
  const body = toProblem(c, code, detail, options.errors, options.members)
  // The content type goes in c.json's third argument: c.json overrides an earlier c.header().
  return c.json(body, problemCatalog[code].status as ProblemStatus<C>, {
    ...options.headers,
    'Content-Type': PROBLEM_CONTENT_TYPE,
  })
}

/** Headers that come with a problem status, declared with it in the document. */
const problemHeaders: Partial<Record<number, Record<string, { description: string; schema: { type: 'string' } }>>> = {
  401: { 'WWW-Authenticate': { description: 'The Bearer challenge.', schema: { type: 'string' } } },
  412: { ETag: { description: 'The current version, as an entity tag.', schema: { type: 'string' } } },
  409: {
    'Retry-After': { description: 'With idempotency_key_in_use: seconds to wait before retrying.', schema: { type: 'string' } },
  },
  429: { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'string' } } },
  503: { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'string' } } },
}

/** OpenAPI response objects for problem codes, spread into each route's `responses`. */
export function problemResponses<const C extends ProblemCode>(...codes: C[]) {
  const byStatus = new Map<number, ProblemCode[]>()
  for (const code of codes) {
    const status = problemCatalog[code].status
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  const responses: Record<number, object> = {}
  for (const [status, group] of byStatus) {
    responses[status] = {
      description: group.map((code) => `\`${code}\`: ${problemCatalog[code].title}`).join('; '),
      ...(problemHeaders[status] ? { headers: problemHeaders[status] } : {}),
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
    }
  }
  return responses as {
    [K in C as ProblemStatus<K>]: {
      description: string
      content: { 'application/problem+json': { schema: typeof ProblemSchema } }
    }
  }
}
