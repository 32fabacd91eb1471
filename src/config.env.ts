import { availableParallelism } from 'node:os'
import { z } from '@hono/zod-openapi'

/**
 * The environment's formats, names and summary, for config.ts (the only reader of the environment):
 * the value formats several variables share, the hashing pool's default, what can be said about
 * variable names alone (a JWT setting without a key source, a name that looks like the service's
 * and is not one), and the startup line's summary. Nothing here reads the environment.
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
 * The most hashing slots by default. The cores seen are the node's, not a pod's CPU quota, and each
 * argon2 job holds 64 MiB: 4 slots are 256 MiB at most, and about 40 hashes a second.
 */
const DEFAULT_HASH_SLOTS_MAX = 4

/**
 * argon2 runs on as many slots as the machine has cores, 4 at most, unless configured (each hash is
 * ~100 ms of one core and 64 MiB); each lane (verify, hash) queues 16 jobs per slot unless configured.
 */
export function passwordHashing(concurrency: number | undefined, queueLimit: number | undefined, cores = availableParallelism()) {
  const slots = concurrency ?? Math.min(cores, DEFAULT_HASH_SLOTS_MAX)
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

/**
 * Prefixes of variables read by the runtimes themselves or by what runs beside the service, never
 * the service's own even when it has a variable starting the same way: `NODE_ENV` is the service's,
 * `NODE_OPTIONS` Node's; `HTTP_PROXY` is Bun's fetch's.
 */
const FOREIGN_PREFIXES = ['NODE_', 'BUN_']
const FOREIGN_NAMES = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'])
/** Kubernetes' service links (`DB_SERVICE_HOST`, `DB_PORT_27017_TCP`...) for a Service named like a prefix. */
const SERVICE_LINK = /_SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?$|_PORT_\d+_(TCP|UDP|SCTP)(_[A-Z]+)?$/
/** The bare one, `<SERVICE>_PORT=tcp://10.0.0.11:27017`: known by its value (never logged). */
const SERVICE_LINK_PORT = /_PORT$/
const SERVICE_LINK_VALUE = /^(tcp|udp|sctp):\/\//

/**
 * The names of `env` that are not Kubernetes service links (a Service named `mongodb` or `auth-jwt`
 * in the namespace injects `MONGODB_SERVICE_HOST`, `AUTH_JWT_PORT=tcp://...` and more): those are
 * not the operator's settings, and neither a warning nor a refusal should name them.
 */
export function settingNames(env: Record<string, string>): string[] {
  return Object.entries(env)
    .filter(([name, value]) => !SERVICE_LINK.test(name) && !(SERVICE_LINK_PORT.test(name) && SERVICE_LINK_VALUE.test(value)))
    .map(([name]) => name)
}

/** The service's prefixes: the first word of each variable it reads (`AUTH_`, `DB_`...), the runtimes' left out. */
export function servicePrefixes(known: readonly string[]): string[] {
  const prefixes = known.filter((name) => name.includes('_')).map((name) => `${name.split('_')[0]}_`)
  return [...new Set(prefixes)].filter((prefix) => !FOREIGN_PREFIXES.includes(prefix)).sort()
}

/** A variable that looks like the service's and is not one it reads, with the known name it is closest to. */
export type UnknownVariable = { name: string; closest?: string }

/**
 * The names among `names` that start with one of the service's prefixes but are not variables it
 * reads (a typo, or a setting of another program that shares the prefix: hence a warning only).
 */
export function unknownVariables(names: string[], known: readonly string[]): UnknownVariable[] {
  const prefixes = servicePrefixes(known)
  return names
    .filter((name) => prefixes.some((prefix) => name.startsWith(prefix)))
    .filter((name) => !known.includes(name) && !FOREIGN_NAMES.has(name))
    .sort()
    .map((name) => {
      const closest = closestName(name, known)
      return closest ? { name, closest } : { name }
    })
}

/**
 * The known name nearest to `name`: one a unit suffix longer (`SHUTDOWN_TIMEOUT` for
 * `SHUTDOWN_TIMEOUT_MS`), or within 2 edits (3 for names of 10 characters or more).
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const limit = name.length >= 10 ? 3 : 2
  let best: { name: string; distance: number } | undefined
  for (const candidate of known) {
    const distance = candidate.startsWith(`${name}_`) ? 1 : editDistance(name, candidate)
    if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance }
  }
  return best?.name
}

/** Edits (insert, delete, replace, swap two neighbours) turning `a` into `b`. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j
  const at = (i: number, j: number) => rows[i]?.[j] ?? Number.POSITIVE_INFINITY
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, at(i - 2, j - 2) + 1)
      ;(rows[i] as number[])[j] = value
    }
  }
  return at(a.length, b.length)
}

/**
 * The hosts of a connection string, without credentials, database or options: `mongodb://u:p@a:1,b/db?x`
 * gives `a:1,b`. Not `new URL`: a URI may list several hosts. The driver refuses a URI whose
 * credentials hold an unescaped `@`, `/` or `?`, so what precedes the first `/` or `?` is the
 * credentials and the hosts.
 */
export function uriHosts(uri: string): string {
  const authority = uri.replace(/^[a-z+]+:\/\//i, '').split(/[/?]/)[0] ?? ''
  return authority.slice(authority.lastIndexOf('@') + 1)
}

/** A line for the log at startup: what it says, and its fields (names of variables, never their values). */
export type ConfigWarning = { fields: Record<string, unknown>; message: string }

/** The one warning about unknown variables: their names, and the known name each may have meant. */
export function unknownVariablesWarning(unknown: UnknownVariable[]): ConfigWarning {
  const names = unknown.map((v) => (v.closest ? `${v.name} (did you mean ${v.closest}?)` : v.name))
  return {
    fields: {
      variables: unknown.map((v) => v.name),
      suggestions: Object.fromEntries(unknown.flatMap((v) => (v.closest ? [[v.name, v.closest]] : []))),
    },
    message: `environment variables this service does not read, though named like its own (ignored): ${names.join(', ')}`,
  }
}

/** The parts of a `Config` the startup line describes (config.ts's type, which this module cannot import). */
type DescribedConfig = {
  auth: { apiKeys: unknown[]; jwt?: { jwksUrl?: string } }
  metricsPort?: number
  metricsToken?: string
  mongodbDb: string
  mongodbUri?: string
}

/**
 * What is in effect, for the startup line: auth sources (how many API keys; a JWT secret, or the
 * JWKS's host), where /metrics is served, the database's name and hosts. Never a secret, a key's
 * hash, credentials or a whole connection string.
 */
export function describeConfig(config: DescribedConfig) {
  const { apiKeys, jwt } = config.auth
  const jwks = jwt?.jwksUrl ? `jwks ${new URL(jwt.jwksUrl).host}` : undefined
  const metrics = [
    ...(config.metricsPort === undefined ? [] : [`port ${config.metricsPort}`]),
    ...(config.metricsToken ? ['token'] : []),
  ]
  return {
    auth: { apiKeys: apiKeys.length, jwt: jwt ? (jwks ?? 'secret') : 'none' },
    metrics: metrics.length > 0 ? metrics.join(', ') : 'public',
    database: { name: config.mongodbDb, hosts: config.mongodbUri ? uriHosts(config.mongodbUri) : 'embedded' },
  }
}

/** Thrown when the environment does not describe a valid configuration; lists every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

/** Empty strings count as unset, as with most twelve-factor tooling (`FOO= bun run dev`). */
export function presentVariables(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  )
}

/**
 * Bun counts a request still being answered as idle, so one waiting on the database must get its
 * 503 (at a call's deadline, 2 × DB_TIMEOUT_MS + 1 s) before the idle timeout cuts it.
 */
export function idleShortfall(idleSeconds: number, dbTimeoutMs: number): string | undefined {
  const deadlineSeconds = Math.ceil((2 * dbTimeoutMs + 1000) / 1000)
  if (idleSeconds >= deadlineSeconds) return undefined
  return `must be at least a database call's deadline, 2 × DB_TIMEOUT_MS + 1 s (${deadlineSeconds} s): Bun counts a request still waiting as idle and would cut it before its 503`
}

const SECRET_KEY_FORMAT = 'each key must be 32 random bytes as 64 hex digits or base64 (openssl rand -base64 32)'

/**
 * WEBHOOK_SECRET_KEYS: comma-separated keys sealing webhook secrets at rest, each 32 bytes as 64
 * hex digits or base64 (standard or URL-safe). The first seals; every one opens: a list rather
 * than a second variable, so a rotation is adding the new key, then moving it first, with no
 * variable renamed. The values never appear in a message.
 */
export const webhookSecretKeysSchema = commaList(
  z.string().refine((key) => /^[0-9a-fA-F]{64}$/.test(key) || /^[A-Za-z0-9+/_-]{43}=?$/.test(key), SECRET_KEY_FORMAT),
)
  .transform((keys): Uint8Array[] => keys.map((key) => Buffer.from(key, key.length === 64 ? 'hex' : 'base64url')))
  .refine((keys) => keys.length > 0, 'must hold at least one key (or be left unset)')
  .refine((keys) => new Set(keys.map((key) => Buffer.from(key).toString('hex'))).size === keys.length, 'must not repeat a key')

/**
 * The production warnings about keys left to their defaults: accepted (existing deployments keep
 * starting), but whoever reads the database gains something an operator should hear about.
 */
export function unsetKeyWarnings(config: {
  env: string
  failureKeySecret: string | undefined
  webhookSecretKeys: readonly Uint8Array[]
}): ConfigWarning[] {
  if (config.env !== 'production') return []
  const warnings: ConfigWarning[] = []
  if (!config.failureKeySecret) {
    warnings.push({
      fields: {},
      message:
        'AUTH_FAILURE_KEY_SECRET is not set: the failed-attempt counters are keyed with a built-in key, so whoever reads the database can confirm a guessed login or address: set it (32+ random characters, the same on every replica)',
    })
  }
  if (config.webhookSecretKeys.length === 0) {
    warnings.push({
      fields: {},
      message:
        'WEBHOOK_SECRET_KEYS is not set: webhook signing secrets are stored as they are, so whoever reads the database can sign webhooks every receiver accepts: set it (openssl rand -base64 32, the same on every replica)',
    })
  }
  return warnings
}
