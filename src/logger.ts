import { writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import pino, { type DestinationStream } from 'pino'
import type { Config } from './config'
import { redactSecrets, serializeError } from './redaction'

/** The logging surface the app depends on; pino's logger satisfies it, and tests can capture it. */
export interface Logger {
  debug(object: object, message?: string): void
  info(object: object, message?: string): void
  warn(object: object, message?: string): void
  error(object: object, message?: string): void
}

/**
 * JSON lines on stdout (or `destination`), one object per event; in development, pino-pretty's
 * readable lines instead (a dev dependency, loaded only then).
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    base: { service: 'users-service' },
    formatters: { log: (object: Record<string, unknown>) => redactSecrets(object) as Record<string, unknown> },
    // Errors by class, scrubbed message and stack, and codes only: never the values a driver error carries.
    serializers: { err: serializeError },
  }
  if (config.logFormat === 'pretty' && !destination) {
    const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream
    // Colours for a terminal only: redirected to a file or a pipe, escape codes are noise.
    const colorize = process.stdout.isTTY === true
    return pino(options, pretty({ colorize, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' }))
  }
  return pino(options, destination ?? standardOutput())
}

/** What the lines of one turn of the event loop may add up to before they are written at once. */
const BATCH_BYTES = 64 * 1024
let stdout: (DestinationStream & { flushSync(): void }) | undefined

/**
 * Standard output, one write per turn of the event loop (issue 18): the lines logged while it runs
 * (a busy server's answers of that turn, each with its request line) are written together when it
 * ends (setImmediate), or at once past BATCH_BYTES, instead of one write(2) per line, which was
 * about a third of the service's own CPU per request. Written by writeFully, which retries a full
 * pipe (EAGAIN) and partial writes. Synchronous on purpose: an asynchronous write in
 * flight when the process ends is lost (tried: the first 570 of 2,000 lines went missing on exit),
 * and no line may be. The price: a log reader that stops reading stalls the service once the
 * pipe is full (docs/operations.md: use a log driver that keeps up, or Docker's non-blocking mode).
 * Nothing is lost on the way out: the process's `exit` event writes what is pending, and it fires on process.exit (the SIGTERM shutdown ends
 * there), on a normal end, and on a crash by an uncaught exception or an unhandled rejection, on
 * Bun and on Node (tests/logger.exit.test.ts). Only a SIGKILL or a crash of the runtime itself can
 * lose the current turn's lines. One per process, whatever the number of loggers, so lines keep
 * their order.
 */
export function standardOutput(): DestinationStream & { flushSync(): void } {
  if (stdout) return stdout
  let pending = ''
  let scheduled = false
  // Set when the reader went away (EPIPE): like pino's own destination, later lines are dropped
  // instead of an error thrown into a request or out of the flush (an uncaught exception).
  let closed = false
  const flushSync = () => {
    scheduled = false
    if (pending === '' || closed) return
    const lines = pending
    pending = ''
    try {
      writeFully(1, lines)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error
      closed = true
    }
  }
  process.on('exit', () => {
    try {
      flushSync()
    } catch {
      // Standard output is gone (a closed pipe): there is nowhere left to write to.
    }
  })
  stdout = {
    write(line: string) {
      if (closed) return
      pending += line
      if (pending.length >= BATCH_BYTES) flushSync()
      else if (!scheduled) {
        scheduled = true
        setImmediate(flushSync)
      }
    },
    flushSync,
  }
  return stdout
}

/** How long a write waits for a reader that is not keeping up (the pipe full) before trying again. */
const FULL_PIPE_WAIT_MS = 10

/**
 * Writes all of `text` to `fd`, synchronously: encoded once, written again from where a partial
 * write stopped, and retried while the pipe is full (EAGAIN, a non-blocking descriptor), as pino's
 * synchronous destination does, without its per-write bookkeeping (issue 18: it measured the
 * length of every batch, then encoded it again).
 */
export function writeFully(fd: number, text: string, write: (fd: number, bytes: Uint8Array) => number = writeSync): void {
  let bytes = Buffer.from(text)
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(write(fd, bytes))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
      Atomics.wait(fullPipeWait, 0, 0, FULL_PIPE_WAIT_MS)
    }
  }
}
const fullPipeWait = new Int32Array(new SharedArrayBuffer(4))
