import type { MiddlewareHandler } from 'hono'
import { insufficientScope, REALM } from '../http/challenge'
import { problem } from '../http/problem'
import type { AppEnv } from '../http/types'
import type { Scope } from '../scopes'
import { AUTH_OFF_CALLER, type Authenticator, type AuthFailure } from './authenticate'

/** Authenticates every request it guards: sets the caller, or answers 401 with a Bearer challenge. */
export function authenticate(authenticator: Authenticator): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!authenticator.enabled) {
      c.set('caller', AUTH_OFF_CALLER)
      return next()
    }
    const result = await authenticator.authenticate(c.req.header('authorization'))
    if ('reason' in result) {
      return problem(c, 'unauthorized', result.description, { headers: { 'WWW-Authenticate': challengeFor(result) } })
    }
    c.set('caller', result)
    return next()
  }
}

/**
 * Route middleware: the caller must hold `scope`. It runs before validation and before any read,
 * so a caller without the scope learns nothing about what exists (no 404-versus-403 oracle).
 */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (hasScope(c.get('caller')?.scopes, scope)) return next()
    return problem(c, 'forbidden', `This operation needs the scope '${scope}'.`, {
      headers: { 'WWW-Authenticate': insufficientScope(scope) },
    })
  }
}

/** The `WWW-Authenticate` of a 401 (RFC 6750 §3): no error code when no credentials were sent; invalid_token otherwise. */
export function challengeFor(failure: AuthFailure): string {
  if (failure.reason === 'missing') return `Bearer realm="${REALM}"`
  return `Bearer realm="${REALM}", error="invalid_token", error_description="${failure.description.replaceAll('"', "'")}"`
}

export function hasScope(scopes: ReadonlySet<string> | undefined, scope: Scope): boolean {
  return scopes?.has(scope) ?? false
}
