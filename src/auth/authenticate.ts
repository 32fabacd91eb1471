import { createHash, hash, timingSafeEqual } from 'node:crypto'
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { type Config, DEFAULT_JWT_MAX_AGE_SECONDS } from '../config'
import { UnavailableError } from '../errors'
import type { Caller } from '../http/types'
import { SCOPES } from '../scopes'

/** Why a bearer token was refused; the text goes into the 401's detail and WWW-Authenticate. */
export type AuthFailure = { reason: 'missing' | 'invalid'; description: string }

export type Authenticator = {
  /** False when no token source is configured (development only; production refuses to start). */
  enabled: boolean
  authenticate(authorization: string | undefined): Promise<Caller | AuthFailure>
}

/** Everything is allowed when auth is off; this caller names the situation in logs. */
export const AUTH_OFF_CALLER: Caller = { name: 'anonymous (auth off)', scopes: new Set(SCOPES) }

type JwtConfig = NonNullable<Config['auth']['jwt']>

/** Seconds of clock difference allowed with the token issuer. */
const CLOCK_TOLERANCE_SECONDS = 5

/**
 * Checks `Authorization: Bearer <token>` against the configured static API keys (by SHA-256, in
 * constant time) and, for tokens shaped like a JWT, against the JWT settings: signature with the
 * pinned algorithms only, issuer, audience, expiry and not-before (jose rejects `alg: none`), a
 * lifetime of at most `maxAgeSeconds`, and the `typ` header when present.
 */
export function createAuthenticator(
  auth: Pick<Config['auth'], 'apiKeys'> & {
    jwt: (Omit<JwtConfig, 'maxAgeSeconds'> & { maxAgeSeconds?: number }) | undefined
  },
  options: { jwks?: JWTVerifyGetKey } = {},
): Authenticator {
  const keys = auth.apiKeys.map((key) => ({
    digest: Buffer.from(key.sha256, 'hex'),
    caller: { name: key.name, scopes: new Set(key.scopes) } satisfies Caller,
  }))
  const jwt = auth.jwt
  const getKey = jwt ? keyResolver(jwt, options.jwks) : undefined

  function matchApiKey(token: string): Caller | undefined {
    // One-shot hash (Node 20.12+, Bun): half the CPU of createHash().update().digest().
    const digest = hash('sha256', token, 'buffer')
    let found: Caller | undefined
    // Compare against every key, without stopping early, so timing says nothing about which matched.
    for (const key of keys) if (timingSafeEqual(digest, key.digest)) found = key.caller
    return found
  }

  async function verifyJwt(token: string): Promise<Caller | AuthFailure> {
    if (!jwt || !getKey) return { reason: 'invalid', description: 'The token is not a known API key.' }
    try {
      const { payload, protectedHeader } = await jwtVerify(token, getKey, {
        issuer: jwt.issuer,
        audience: jwt.audience,
        algorithms: jwt.algorithms,
        // jose checks exp only when present: a token without one would never expire.
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      })
      const refused =
        typeProblem(protectedHeader.typ) ?? lifetimeProblem(payload, jwt.maxAgeSeconds ?? DEFAULT_JWT_MAX_AGE_SECONDS)
      if (refused) return { reason: 'invalid', description: refused }
      const name = callerName(payload)
      if (!name) return { reason: 'invalid', description: 'The token names no subject (sub, client_id or azp).' }
      return { name, scopes: scopesOf(payload) }
    } catch (error) {
      if (error instanceof UnavailableError) throw error
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

/**
 * The verification key: the shared secret, or the issuer's key set. When the key set cannot be
 * fetched (the issuer is down or answers garbage) that is our outage, a 503, not the caller's bad
 * token; a token naming no key of the set stays a 401.
 */
function keyResolver(jwt: Pick<JwtConfig, 'secret' | 'jwksUrl'>, jwks?: JWTVerifyGetKey): JWTVerifyGetKey {
  if (jwt.secret) {
    const secret = new TextEncoder().encode(jwt.secret)
    return async () => secret
  }
  const remote = jwks ?? createRemoteJWKSet(new URL(jwt.jwksUrl ?? ''), { timeoutDuration: 2000, cooldownDuration: 30_000 })
  return async (header, token) => {
    try {
      return await remote(header, token)
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error
      throw new UnavailableError("The token issuer's keys could not be fetched; retry shortly.", 5)
    }
  }
}

/**
 * RFC 8725 §3.11 (explicit typing): a token typed as something else (a logout token, a DPoP proof,
 * a security event) is not an access token, even when signed by the same issuer for the same
 * audience. `JWT` and RFC 9068's `at+jwt` are accepted, without case and with or without the
 * `application/` prefix (RFC 7515 §4.1.9); a token with no `typ` is accepted, as most issuers send
 * none or `JWT`.
 */
function typeProblem(typ: unknown): string | undefined {
  if (typ === undefined) return undefined
  const type = typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : ''
  if (type === 'jwt' || type === 'at+jwt') return undefined
  return "The token's typ header is not JWT or at+jwt: it is not an access token."
}

/**
 * A token living longer than `maxAgeSeconds` is refused: by `exp − iat` when the token says when it
 * was issued, and always by `exp − now`, so neither a long-lived token nor an absurd `exp`
 * (1e308) passes, whatever `iat` claims; so is one issued in the future (beyond the clock tolerance).
 */
function lifetimeProblem(payload: JWTPayload, maxAgeSeconds: number): string | undefined {
  const exp = payload.exp as number // required and checked by jwtVerify
  const now = Date.now() / 1000
  const tooLong = `The token's exp is more than ${maxAgeSeconds} s after`
  if (typeof payload.iat === 'number' && exp - payload.iat > maxAgeSeconds) return `${tooLong} its iat.`
  if (exp - now > maxAgeSeconds + CLOCK_TOLERANCE_SECONDS) return `${tooLong} now.`
  // Issued later than now: a clock far off or a forged claim (a security review found it accepted).
  if (typeof payload.iat === 'number' && payload.iat > now + CLOCK_TOLERANCE_SECONDS) return "The token's iat is in the future."
  return undefined
}

/** `jwt:<subject>`; a subject too long to log is named by its hash, so two never merge. */
function callerName(payload: JWTPayload): string | undefined {
  const subject = [payload.sub, payload.client_id, payload.azp].find((v): v is string => typeof v === 'string' && v.length > 0)
  if (!subject) return undefined
  return subject.length <= 128 ? `jwt:${subject}` : `jwt:sha256:${createHash('sha256').update(subject).digest('hex')}`
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
