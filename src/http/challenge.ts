import type { Scope } from '../scopes'

/** The realm of every Bearer challenge this service sends (RFC 6750 §3). */
export const REALM = 'users-service'

/**
 * The `WWW-Authenticate` of a 403 for a missing scope: the route's own scope check, and the
 * service's refusals that need `users:admin` (a privileged field, a deleted user, the lifecycle).
 */
export function insufficientScope(scope: Scope): string {
  return `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`
}
