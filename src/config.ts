import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { z } from '@hono/zod-openapi'
import {
  apiKeysSchema,
  ConfigError,
  type ConfigWarning,
  commaList,
  idleShortfall,
  orphanJwtProblems,
  PortSchema,
  passwordHashing,
  presentVariables,
  settingNames,
  unknownVariables,
  unknownVariablesWarning,
  unsetKeyWarnings,
  webhookSecretKeysSchema,
} from './config.env'
import { MongoUriSchema } from './config.uri'

export { ConfigError }

import { DEFAULT_RETRY_SCHEDULE, RetryScheduleSchema, retentionShortfall } from './retry-schedule'
import { ASYMMETRIC_ALGORITHMS, SCOPES, SYMMETRIC_ALGORITHMS } from './scopes'

/** The longest a JWT may live (exp − iat, or exp − now without iat) unless configured: a day. */
export const DEFAULT_JWT_MAX_AGE_SECONDS = 86_400

/** The variables the service reads, each with its format: every name here is a known one (see unknownVariables). */
const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).optional(),
  PORT: PortSchema.default(3000),
  MONGODB_URI: MongoUriSchema.optional(),
  MONGODB_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be 1-63 characters of [A-Za-z0-9_-]')
    .default('users'),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(64 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  DEVDB_DATA_DIR: z.string().min(1).default('.data/devdb'),
  DB_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(300_000).default(10_000),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  HTTP_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(250).default(75),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  METRICS_PORT: PortSchema.optional(),
  METRICS_PUBLIC: z.enum(['true', 'false'], "must be 'true' or 'false'").default('false'),
  AUTH_API_KEYS: apiKeysSchema(SCOPES).optional(),
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters (256 bits for HS256)').optional(),
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  AUTH_JWT_ALGORITHMS: commaList(z.enum([...SYMMETRIC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS]))
    .refine((algorithms) => algorithms.length > 0, 'must name at least one algorithm')
    .optional(),
  AUTH_JWT_MAX_AGE_SECONDS: z.coerce.number().int().min(60).max(2_592_000).default(DEFAULT_JWT_MAX_AGE_SECONDS),
  AUTH_MAX_FAILURES_PER_LOGIN: z.coerce.number().int().min(1).max(1000).default(5),
  AUTH_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100_000).default(100),
  AUTH_MAX_FAILURES_PER_CLIENT: z.coerce.number().int().min(1).max(100_000).default(100),
  AUTH_FAILURE_KEY_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  CORS_ORIGINS: commaList(
    z.string().regex(/^https?:\/\/[^/\s,]+$/, 'must be a comma-separated list of origins such as https://app.example.com'),
  ).optional(),
  PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(100_000).optional(),
  // --- User lifecycle (issue 15) ---
  USER_RETENTION_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
  // --- Webhooks (issue 16) ---
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  WEBHOOK_RETRY_SCHEDULE: z.string().default(DEFAULT_RETRY_SCHEDULE).pipe(RetryScheduleSchema),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: z.enum(['true', 'false'], "must be 'true' or 'false'").default('false'),
  WEBHOOK_SECRET_KEYS: webhookSecretKeysSchema.optional(),
  // --- Change events (issue 16) ---
  EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  // --- Flask-service compatibility routes (issue 8) ---
  LEGACY_ROUTES: z.enum(['true', 'false'], "must be 'true' or 'false'").default('false'),
})

/** Every variable the service reads: derived from the schema, so a variable added there is known here. */
export const KNOWN_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape)

/**
 * The service's configuration. This module is the only reader of the environment: everything else
 * receives a typed `Config`, so tests can build one without touching `process.env`.
 */
const ParsedSchema = EnvSchema.transform((env) => ({
  env: env.NODE_ENV,
  // Outside production the service listens on loopback only, so a laptop's dev server is not on
  // the network by accident; containers and production listen on every interface.
  host: env.HOST ?? (env.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
  port: env.PORT,
  mongodbUri: env.MONGODB_URI,
  mongodbDb: env.MONGODB_DB,
  bodyLimitBytes: env.BODY_LIMIT_BYTES,
  logLevel: env.LOG_LEVEL,
  // Readable lines for a developer at a terminal; JSON lines everywhere else.
  logFormat: env.LOG_FORMAT ?? (env.NODE_ENV === 'development' ? 'pretty' : 'json'),
  devDbDataDir: env.DEVDB_DATA_DIR,
  dbTimeoutMs: env.DB_TIMEOUT_MS,
  shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  /** From the signal, how long /readyz answers 503 while all else is served: a load balancer's time to stop routing here. */
  shutdownDelayMs: env.SHUTDOWN_DELAY_MS,
  /** How long a kept-alive connection may sit idle before it is closed, at least: longer than a load balancer's. */
  httpIdleTimeoutSeconds: env.HTTP_IDLE_TIMEOUT_SECONDS,
  metricsToken: env.METRICS_TOKEN,
  /** Serve /metrics on this port only (a listener of its own), not on PORT. */
  metricsPort: env.METRICS_PORT,
  /** The operator's explicit consent to unauthenticated /metrics on PORT in production. */
  metricsPublic: env.METRICS_PUBLIC === 'true',
  corsOrigins: env.CORS_ORIGINS ?? [],
  passwordHashing: passwordHashing(env.PASSWORD_HASH_CONCURRENCY, env.PASSWORD_HASH_QUEUE),
  /** Serve POST /create, GET /read... for the Flask service's clients (deprecated; off by default). */
  legacyRoutes: env.LEGACY_ROUTES === 'true',
  /** Days a deleted user is kept (restorable, readable by admins) before it is purged; 0 purges at DELETE. */
  userRetentionDays: env.USER_RETENTION_DAYS,
  webhooks: {
    /** One delivery attempt, DNS to the last byte read. */
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    /** Delays before each attempt, in ms (the Standard Webhooks schedule unless overridden). */
    retrySchedule: env.WEBHOOK_RETRY_SCHEDULE,
    /** Allow http:// and private, loopback or link-local targets (development and tests). */
    allowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS === 'true',
    /** Seal the endpoints' secrets at rest: the first key seals, every one opens (none: stored as they are). */
    secretKeys: env.WEBHOOK_SECRET_KEYS ?? [],
  },
  /** Days the change feed keeps events; an older cursor gets 410 cursor_expired. */
  eventsRetentionDays: env.EVENTS_RETENTION_DAYS,
  auth: {
    failures: {
      perLogin: env.AUTH_MAX_FAILURES_PER_LOGIN,
      perIp: env.AUTH_MAX_FAILURES_PER_IP,
      perClient: env.AUTH_MAX_FAILURES_PER_CLIENT,
      windowSeconds: env.AUTH_FAILURE_WINDOW_SECONDS,
      /** Keys the digests failure counters are stored under (unset: a built-in key). */
      keySecret: env.AUTH_FAILURE_KEY_SECRET,
    },
    apiKeys: env.AUTH_API_KEYS ?? [],
    jwt:
      env.AUTH_JWT_SECRET || env.AUTH_JWKS_URL
        ? {
            secret: env.AUTH_JWT_SECRET,
            jwksUrl: env.AUTH_JWKS_URL,
            issuer: env.AUTH_JWT_ISSUER ?? '',
            audience: env.AUTH_JWT_AUDIENCE ?? '',
            algorithms: env.AUTH_JWT_ALGORITHMS ?? (env.AUTH_JWT_SECRET ? ['HS256'] : ['RS256']),
            maxAgeSeconds: env.AUTH_JWT_MAX_AGE_SECONDS,
          }
        : undefined,
  },
}))

type Parsed = z.output<typeof ParsedSchema>
type Issues = { addIssue(issue: { code: 'custom'; path: string[]; message: string }): void }

/** Settings that are each valid but wrong together, or wrong in production. Every one is reported. */
const ConfigSchema = ParsedSchema.superRefine((config, ctx) => {
  checkAuth(config, ctx)
  checkProduction(config, ctx)
  const shortfall = retentionShortfall(config.eventsRetentionDays, config.webhooks.retrySchedule)
  if (shortfall) ctx.addIssue({ code: 'custom', path: ['EVENTS_RETENTION_DAYS'], message: shortfall })
  if (config.metricsPort !== undefined && config.metricsPort !== 0 && config.metricsPort === config.port) {
    ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from PORT' })
  }
  const idle = idleShortfall(config.httpIdleTimeoutSeconds, config.dbTimeoutMs)
  if (idle) ctx.addIssue({ code: 'custom', path: ['HTTP_IDLE_TIMEOUT_SECONDS'], message: idle })
})

function checkAuth(config: Parsed, ctx: Issues): void {
  const { jwt } = config.auth
  // An address tries logins one by one: a per-address limit below the per-login one would be the per-login limit.
  if (config.auth.failures.perIp < config.auth.failures.perLogin) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_MAX_FAILURES_PER_IP'],
      message: 'must be at least AUTH_MAX_FAILURES_PER_LOGIN (it bounds one address across logins)',
    })
  }
  if (!jwt) return
  if (jwt.secret && jwt.jwksUrl) {
    ctx.addIssue({ code: 'custom', path: ['AUTH_JWKS_URL'], message: 'set AUTH_JWT_SECRET or AUTH_JWKS_URL, not both' })
  }
  if (!jwt.issuer) ctx.addIssue({ code: 'custom', path: ['AUTH_JWT_ISSUER'], message: 'is required when JWTs are accepted' })
  if (!jwt.audience) ctx.addIssue({ code: 'custom', path: ['AUTH_JWT_AUDIENCE'], message: 'is required when JWTs are accepted' })
  // Pinning the family to the key type closes algorithm-confusion attacks (an HMAC signed with a public key).
  const allowed: readonly string[] = jwt.secret ? SYMMETRIC_ALGORITHMS : ASYMMETRIC_ALGORITHMS
  if (!jwt.algorithms.every((a) => allowed.includes(a))) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_JWT_ALGORITHMS'],
      message: `must be among ${allowed.join(', ')} with ${jwt.secret ? 'AUTH_JWT_SECRET' : 'AUTH_JWKS_URL'}`,
    })
  }
}

/** What production refuses: see docs/configuration.md, "What production insists on". */
function checkProduction(config: Parsed, ctx: Issues): void {
  if (config.env !== 'production') return
  const refuse = (variable: string, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message })
  if (config.auth.apiKeys.length === 0 && !config.auth.jwt) {
    refuse(
      'AUTH_API_KEYS',
      'auth is off, which production refuses: set AUTH_API_KEYS and/or AUTH_JWT_SECRET or AUTH_JWKS_URL (with AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE)',
    )
  }
  if (config.auth.jwt?.jwksUrl?.startsWith('http:')) {
    refuse('AUTH_JWKS_URL', 'must be https in production: the keys decide who gets in')
  }
  if (!config.metricsToken && config.metricsPort === undefined && !config.metricsPublic) {
    refuse(
      'METRICS_TOKEN',
      'production refuses public /metrics (caller names, verify outcomes, versions): set METRICS_TOKEN, or METRICS_PORT to serve them on a listener of their own, or METRICS_PUBLIC=true to serve them publicly anyway',
    )
  }
  if (!config.mongodbUri) {
    refuse('MONGODB_URI', 'is required when NODE_ENV=production (the embedded database is for development and tests only)')
  }
  if (config.port === 0) refuse('PORT', 'must not be 0 (a random port) in production')
  if (config.metricsPort === 0) refuse('METRICS_PORT', 'must not be 0 (a random port) in production')
  // pino-pretty is a dev dependency: the image does not have it, and the start would fail later.
  if (config.logFormat === 'pretty') {
    refuse('LOG_FORMAT', 'pretty logs are for development (the production image has no pino-pretty): use json')
  }
}

export type Config = z.output<typeof ConfigSchema>

/** Parses the environment (or any record of strings, for tests) into a `Config`, or throws `ConfigError`. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = presentVariables(env)
  const result = ConfigSchema.safeParse(present)
  // The variable is the first path element (CORS_ORIGINS.1 is still CORS_ORIGINS's problem).
  const problems = (result.error?.issues ?? []).map((issue) => ({ variable: String(issue.path[0] ?? '(environment)'), issue }))
  // A JWT setting with a bad value is reported for its value: one line per variable.
  const orphans = orphanJwtProblems(settingNames(present)).filter((o) => !problems.some((p) => p.variable === o.variable))
  if (result.success && orphans.length === 0) return result.data
  throw new ConfigError([
    ...problems.map((p) => `${p.variable}: ${p.issue.message}`),
    ...orphans.map((o) => `${o.variable}: ${o.message}`),
  ])
}

/**
 * What the configuration accepts but an operator should hear of, once at startup: variables that
 * look like the service's and are not (a typo: `SHUTDOWN_TIMEOUT`), and keys left unset in production.
 */
export function configWarnings(config: Config, env: Record<string, string | undefined> = process.env): ConfigWarning[] {
  const warnings: ConfigWarning[] = []
  const unknown = unknownVariables(settingNames(presentVariables(env)), KNOWN_VARIABLES)
  if (unknown.length > 0) warnings.push(unknownVariablesWarning(unknown))
  // Production's risky settings it accepts; WEBHOOK_ALLOW_PRIVATE_TARGETS=true has its own line (service.ts).
  const keys = { failureKeySecret: config.auth.failures.keySecret, webhookSecretKeys: config.webhooks.secretKeys }
  warnings.push(...unsetKeyWarnings({ env: config.env, ...keys }))
  return warnings
}

/**
 * Bun reads `.env` files by itself; Node does not. The Node entry calls this first, so that both
 * runtimes see the same configuration: the files Bun reads, with Bun's precedence (highest first:
 * the real environment, `.env.<NODE_ENV>.local`, `.env.local` except when NODE_ENV=test,
 * `.env.<NODE_ENV>`, `.env`), from the working directory. Variables already set are never
 * replaced. Returns the files read. Does nothing on Bun, which has done it already.
 */
export function loadDotEnvFiles(cwd = process.cwd(), env: Record<string, string | undefined> = process.env): string[] {
  if (process.versions.bun) return []
  const mode = env.NODE_ENV || 'development'
  const files = [`.env.${mode}.local`, ...(mode === 'test' ? [] : ['.env.local']), `.env.${mode}`, '.env']
  const read = files.filter((file) => existsSync(join(cwd, file)))
  for (const file of read) {
    for (const [name, value] of Object.entries(parseEnv(readFileSync(join(cwd, file), 'utf8')))) {
      if (env[name] === undefined && value !== undefined) env[name] = value
    }
  }
  return read
}

/**
 * The configuration of a command that serves no requests (the seed import): the environment's
 * database settings, without production's request-serving checks (auth must be on), which must not
 * stop it in the service's image.
 */
export function loadToolConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadConfig({ ...env, NODE_ENV: 'development' })
}

/** Config for tests and scripts: defaults plus overrides, without reading the environment. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({ NODE_ENV: 'test' }), ...overrides }
}
