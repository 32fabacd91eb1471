import pino from 'pino'
import type { Config } from './config'

/** The logging surface the app depends on; pino's logger satisfies it, and tests can capture it. */
export interface Logger {
  info(object: object, message?: string): void
  warn(object: object, message?: string): void
  error(object: object, message?: string): void
}

/**
 * JSON lines on stdout. Anything that could carry a secret is redacted by path as a second line
 * of defence: nothing should log a request body or headers whole in the first place.
 */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'users-service' },
    redact: {
      paths: ['password', 'passwordHash', '*.password', '*.passwordHash', 'headers.authorization', 'headers.cookie'],
      censor: '[redacted]',
    },
  })
}
