import { createRequire } from 'node:module'
import pino, { type DestinationStream } from 'pino'
import type { Config } from './config'

/** The logging surface the app depends on; pino's logger satisfies it, and tests can capture it. */
export interface Logger {
  info(object: object, message?: string): void
  warn(object: object, message?: string): void
  error(object: object, message?: string): void
}

/**
 * Anything that could carry a secret, at the top of a logged object or up to two levels down. A
 * second line of defence: nothing logs request bodies or headers in the first place.
 */
const SECRET_KEYS = ['password', 'passwordHash', 'token', 'authorization', 'cookie', 'apiKey']
const REDACTED_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`])

/**
 * JSON lines on stdout (or `destination`), one object per event; in development, pino-pretty's
 * readable lines instead (a dev dependency, loaded only then).
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    base: { service: 'users-service' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  }
  if (config.logFormat === 'pretty' && !destination) {
    const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream
    return pino(options, pretty({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' }))
  }
  return destination ? pino(options, destination) : pino(options)
}
