import { createHash } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { problem } from '../http/problem'
import type { AppEnv } from '../http/types'
import type { IdempotencyStore, StoredResponse } from './idempotency'

/** 1-255 visible ASCII characters; the route's OpenAPI parameter publishes this pattern. */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7E]{1,255}$'
const KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN)
/** Replayed responses keep the headers that matter to a client. */
const KEPT_HEADERS = ['content-type', 'etag', 'location']

export type IdempotentOptions = {
  /** The user a kept response is about (a create's 201), so erasing that user scrubs the record. */
  userIdOf?: (response: StoredResponse) => string | undefined
}

/** The `id` of what a 201 created: for a user create, the user an erase must scrub the record of. */
export function createdId({ status, body }: StoredResponse): string | undefined {
  const id = status === 201 && typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined
  return typeof id === 'string' ? id : undefined
}

/**
 * `Idempotency-Key` on a create: the first request with a key runs and its answer is kept; a
 * retry with the same key and body gets that answer again (with `Idempotent-Replayed: true`), a
 * different body gets 422, and a retry while the first still runs gets 409. Server errors and
 * conflicts are not kept (`kept`): a retry runs again. `body` is the route's body schema: only valid bodies
 * take part. Keys are kept in `store` (the app's, passed in when its routes are built).
 */
export function idempotent(
  store: IdempotencyStore,
  body: { safeParse(value: unknown): { success: boolean } },
  options: IdempotentOptions = {},
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header('idempotency-key')
    if (key === undefined) return next()
    if (!KEY.test(key)) {
      const message = 'must be 1-255 visible ASCII characters'
      return problem(c, 'validation_failed', `The Idempotency-Key header ${message}.`, {
        errors: [{ location: 'header', pointer: '/idempotency-key', code: 'invalid_format', message }],
      })
    }
    let print: string
    try {
      const parsed: unknown = await c.req.json()
      // An invalid body is the route validator's to refuse (400), never claimed, kept or replayed:
      // the password's value is not in the fingerprint, so an overlong one would otherwise match a
      // stored create and get its 201 back (found by Schemathesis).
      if (!body.safeParse(parsed).success) return next()
      print = fingerprint(c.req.method, c.req.path, parsed)
    } catch {
      // Not JSON, or nested beyond anything valid: the route's own validation answers, nothing to keep.
      return next()
    }
    const scope = c.get('caller')?.name ?? 'anonymous'
    const claim = await store.claim(scope, key, print)
    switch (claim.kind) {
      case 'reused':
        return problem(c, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request body.')
      case 'in_flight':
        return problem(c, 'idempotency_key_in_use', 'A request with this Idempotency-Key is still running; retry shortly.', {
          headers: { 'Retry-After': '1' },
        })
      case 'replay': {
        const { status, headers, body: stored } = claim.response
        return new Response(JSON.stringify(stored), { status, headers: { ...headers, 'Idempotent-Replayed': 'true' } })
      }
    }
    // Hono turns a thrown error into c.res before next() returns, so the status tells it all.
    await next()
    try {
      if (!kept(c.res.status)) {
        await store.release(scope, key, claim.owner)
        return
      }
      const headers = Object.fromEntries(
        KEPT_HEADERS.flatMap((name) => (c.res.headers.has(name) ? [[name, c.res.headers.get(name) ?? '']] : [])),
      )
      const response = { status: c.res.status, headers, body: await c.res.clone().json() }
      await store.complete(scope, key, claim.owner, response, options.userIdOf?.(response))
    } catch {
      // The work is done and its answer stands: failing to keep it only means a retry within the
      // claim's lock gets 409, and after it runs again. Better than replacing a 201 with a 503.
    }
  }
}

/**
 * Whether an answer is kept for replays. Not a server error (5xx), so a retry can succeed. Not a
 * conflict (409) either: it changed nothing, a retry may succeed once the other user is gone, and
 * its detail names that other user's username, email or externalId, which would outlive that user's
 * erasure for the key's 24 hours (a security review found one replayable after the erase).
 */
const kept = (status: number) => status < 500 && status !== 409

/**
 * What makes two requests "the same": method, path and the body in canonical form (sorted keys).
 * The password's value is left out: it must exist nowhere but in its argon2id hash, and a fast hash
 * of it kept for a day would be one more thing to guess offline. Only whether one was sent counts.
 */
function fingerprint(method: string, path: string, body: unknown): string {
  const redacted = isObject(body) && 'password' in body ? { ...body, password: typeof body.password } : body
  return createHash('sha256')
    .update(`${method} ${path}\n${canonical(redacted)}`)
    .digest('hex')
}

/** Sorted-key JSON. Throws past 32 levels: no valid body is that deep, and recursion must stay bounded. */
function canonical(value: unknown, depth = 0): string {
  if (depth > 32) throw new Error('too deep')
  if (Array.isArray(value)) return `[${value.map((item) => canonical(item, depth + 1)).join(',')}]`
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k], depth + 1)}`)
      .join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
