import { createHash, timingSafeEqual } from 'node:crypto'
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'
import type { Config } from '../config'
import { AppError } from '../http/app-error'
import type { Caller } from '../http/types'
import { SCOPES } from './scopes'

/** Why a bearer token was refused; the text goes into the 401's detail and WWW-Authenticate. */
export type AuthFailure = { reason: 'missing' | 'invalid'; description: string }

export type Authenticator = {
  /** False when no token source is configured (development only; production refuses to start). */
  enabled: boolean
  authenticate(authorization: string | undefined): Promise<Caller | AuthFailure>
}

/** Everything is allowed when auth is off; this caller names the situation in logs. */
export const AUTH_OFF_CALLER: Caller = { name: 'anonymous (auth off)', scopes: new Set(SCOPES) }

/**
 * Checks `Authorization: Bearer <token>` against the configured static API keys (by SHA-256, in
 * constant time) and, for tokens shaped like a JWT, against the JWT settings: signature with the
 * pinned algorithms only, issuer, audience, expiry and not-before (jose rejects `alg: none`).
 */
export function createAuthenticator(
  auth: Pick<Config['auth'], 'apiKeys' | 'jwt'>,
  options: { jwks?: JWTVerifyGetKey } = {},
): Authenticator {
  const keys = auth.apiKeys.map((key) => ({
    name: key.name,
    digest: Buffer.from(key.sha256, 'hex'),
    scopes: new Set(key.scopes),
  }))
  const jwt = auth.jwt
  const verificationKey: Uint8Array | JWTVerifyGetKey | undefined = jwt
    ? jwt.secret
      ? new TextEncoder().encode(jwt.secret)
      : (options.jwks ?? createRemoteJWKSet(new URL(jwt.jwksUrl ?? ''), { timeoutDuration: 2000, cooldownDuration: 30_000 }))
    : undefined

  function matchApiKey(token: string): Caller | undefined {
    const digest = createHash('sha256').update(token).digest()
    let found: (typeof keys)[number] | undefined
    // Compare against every key, without stopping early, so timing says nothing about which matched.
    for (const key of keys) if (timingSafeEqual(digest, key.digest)) found = key
    return found && { name: found.name, scopes: found.scopes }
  }

  async function verifyJwt(token: string): Promise<Caller | AuthFailure> {
    if (!jwt || !verificationKey) return { reason: 'invalid', description: 'The token is not a known API key.' }
    try {
      const { payload } =
        verificationKey instanceof Uint8Array
          ? await jwtVerify(token, verificationKey, {
              issuer: jwt.issuer,
              audience: jwt.audience,
              algorithms: jwt.algorithms,
              clockTolerance: 5,
            })
          : await jwtVerify(token, verificationKey, {
              issuer: jwt.issuer,
              audience: jwt.audience,
              algorithms: jwt.algorithms,
              clockTolerance: 5,
            })
      return { name: callerName(payload), scopes: scopesOf(payload) }
    } catch (error) {
      // The issuer's keys could not be fetched: our problem, not the caller's token.
      if (error instanceof errors.JWKSTimeout) {
        throw new AppError('service_unavailable', "The token issuer's keys could not be fetched; retry shortly.", {
          headers: { 'Retry-After': '5' },
        })
      }
      return { reason: 'invalid', description: describeJwtError(error) }
    }
  }

  return {
    enabled: keys.length > 0 || jwt !== undefined,
    async authenticate(authorization) {
      const token = /^Bearer +([^\s]+)\s*$/i.exec(authorization ?? '')?.[1]
      if (!token) return { reason: 'missing', description: 'Send Authorization: Bearer <API key or JWT>.' }
      const key = matchApiKey(token)
      if (key) return key
      // A JWT is three base64url parts; anything else can only have been a (wrong) API key.
      if (/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) return verifyJwt(token)
      return { reason: 'invalid', description: 'The token is not a known API key.' }
    },
  }
}

function callerName(payload: JWTPayload): string {
  const name = payload.sub ?? payload.client_id ?? payload.azp
  return typeof name === 'string' && name.length > 0 ? `jwt:${name.slice(0, 128)}` : 'jwt:unknown'
}

/** Scopes from `scope` (a space-separated string, RFC 8693) or `scp` (an array or a string). */
function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  const raw = payload.scope ?? payload.scp
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(' ') : []
  return new Set(list.filter((s): s is string => typeof s === 'string' && s.length > 0))
}

function describeJwtError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The token has expired.'
  if (error instanceof errors.JWTClaimValidationFailed) return `The token's ${error.claim} claim is not acceptable.`
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The token is signed with an algorithm this service does not accept.'
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The token signature does not verify.'
  if (error instanceof errors.JWKSNoMatchingKey) return 'No key of the issuer matches the token.'
  return 'The token is not a valid JWT for this service.'
}
