import { availableParallelism } from 'node:os'
import { z } from '@hono/zod-openapi'

/**
 * The environment's formats and names, for config.ts (the only reader of the environment):
 * the value formats several variables share, the hashing pool's default, what can be said about
 * variable names alone (a JWT setting without a key source). Nothing here reads the environment.
 */

/**
 * AUTH_API_KEYS: a JSON array of static API keys with unique names, each a name for logs, the
 * SHA-256 of the key (never the key) and scopes among `scopes` (passed in: scopes.ts is no lower
 * than this module).
 */
export function apiKeysSchema<const S extends readonly [string, ...string[]]>(scopes: S) {
  const key = z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'name: 1-64 characters of [A-Za-z0-9._-]'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256: the 64 hex digits of the key's SHA-256 (bun run apikey makes one)"),
    scopes: z.array(z.enum(scopes)).min(1),
  })
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {"name","sha256","scopes"}' })
        return z.NEVER
      }
    })
    .pipe(z.array(key))
    .refine((keys) => new Set(keys.map((k) => k.name)).size === keys.length, 'key names must be unique')
}

/** A comma-separated list, items trimmed, empty items dropped, each checked by `item`. */
export function commaList<T extends z.ZodType<unknown, string>>(item: T) {
  return z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item))
}

const NOT_A_PORT = 'must be a port number (0-65535)'

/**
 * PORT and METRICS_PORT: digits only. `z.coerce.number()` read a blank value (`PORT=' '`) as 0, a
 * random port, and accepted `0x50` or `1e3`.
 */
export const PortSchema = z
  .string()
  .trim()
  .regex(/^\d{1,5}$/, NOT_A_PORT)
  .transform(Number)
  .pipe(z.number().max(65_535, NOT_A_PORT))

/** Waiting jobs allowed per lane and per hashing slot by default: about 1.6 s of work at 100 ms a hash. */
const HASH_QUEUE_PER_SLOT = 16

/**
 * argon2 runs on as many slots as the machine has cores unless configured (each hash is ~100 ms of
 * one core and 64 MiB); each lane (verify, hash) queues 16 jobs per slot unless configured.
 */
export function passwordHashing(concurrency: number | undefined, queueLimit: number | undefined) {
  const slots = concurrency ?? availableParallelism()
  return { concurrency: slots, queueLimit: queueLimit ?? HASH_QUEUE_PER_SLOT * slots }
}

/** The variables that make JWTs count: without one of them every other AUTH_JWT_* setting is ignored. */
export const JWT_KEY_SOURCES = ['AUTH_JWT_SECRET', 'AUTH_JWKS_URL'] as const

/**
 * JWT settings set without a key source (`AUTH_JWKS_URI` for `AUTH_JWKS_URL` lands here): the
 * service would start and refuse every JWT with 401. One problem per variable.
 */
export function orphanJwtProblems(names: string[]): { variable: string; message: string }[] {
  if (JWT_KEY_SOURCES.some((source) => names.includes(source))) return []
  const orphans = names.filter((name) => /^AUTH_JWT_|^AUTH_JWKS_/.test(name)).sort()
  return orphans.map((variable) => {
    const also = orphans.filter((other) => other !== variable)
    const others = also.length > 0 ? `; also set: ${also.join(', ')}` : ''
    return {
      variable,
      message: `ignored without AUTH_JWT_SECRET or AUTH_JWKS_URL (neither is set${others}): set one of them, or unset it`,
    }
  })
}
