import { z } from '@hono/zod-openapi'

/**
 * The service's configuration. This module is the only reader of the environment: everything else
 * receives a typed `Config`, so tests can build one without touching `process.env`.
 */
const ConfigSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().min(1).optional(),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    MONGODB_URI: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// connection string')
      .optional(),
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
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    CORS_ORIGINS: z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z.string().regex(/^https?:\/\/[^/\s,]+$/, 'must be a comma-separated list of origins such as https://app.example.com'),
        ),
      )
      .optional(),
  })
  .transform((env) => ({
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
    metricsToken: env.METRICS_TOKEN,
    corsOrigins: env.CORS_ORIGINS ?? [],
  }))
  .superRefine((config, ctx) => {
    if (config.env === 'production' && !config.mongodbUri) {
      ctx.addIssue({
        code: 'custom',
        path: ['MONGODB_URI'],
        message: 'is required when NODE_ENV=production (the embedded database is for development and tests only)',
      })
    }
  })

export type Config = z.output<typeof ConfigSchema>

/** Thrown when the environment does not describe a valid configuration; lists every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

/** Parses the environment (or any record of strings, for tests) into a `Config`, or throws `ConfigError`. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as with most twelve-factor tooling (`FOO= bun run dev`).
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
  const result = ConfigSchema.safeParse(present)
  if (result.success) return result.data
  // The variable is the first path element (CORS_ORIGINS.1 is still CORS_ORIGINS's problem).
  throw new ConfigError(result.error.issues.map((issue) => `${String(issue.path[0] ?? '(environment)')}: ${issue.message}`))
}

/** Config for tests and scripts: defaults plus overrides, without reading the environment. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({ NODE_ENV: 'test' }), ...overrides }
}
