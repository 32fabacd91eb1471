const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

/**
 * The request's id: the caller's `X-Request-Id` when it is safe to log and echo (a restricted
 * alphabet, so no header or log injection), otherwise a generated one. Every answer echoes it
 * (src/observability/observe.ts sets it with the other headers every answer carries).
 */
export function acceptRequestId(offered: string | undefined): string {
  return offered && ACCEPTED_REQUEST_ID.test(offered) ? offered : crypto.randomUUID()
}
