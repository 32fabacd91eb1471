/**
 * The security headers every answer carries: exactly what hono/secure-headers sends with its
 * defaults, which the app used until issue 18 (no Content-Security-Policy among them; its removal
 * of X-Powered-By had nothing to remove: neither Hono nor Bun sends one). Set by one loop at the
 * edge of every request (src/observability/observe.ts) instead of through that middleware's
 * per-request option handling. tests/http.test.ts pins the list.
 */
const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
]

/** Sets every security header on an answer's headers, over any value a handler gave one. */
export function setSecurityHeaders(headers: Headers): void {
  for (const [name, value] of SECURITY_HEADERS) headers.set(name, value)
}
