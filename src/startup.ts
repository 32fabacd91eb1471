import { createServer } from 'node:net'
import { errorText } from './redaction'

/**
 * What stops the service before it serves: one line on stderr and exit status 1, never a source
 * frame and a stack (Bun prints both for an error escaping a top-level await): the reason is the
 * operator's to act on (a port in use, a database that does not answer, a data folder in use).
 */
export function exitOnStartupFailure(error: unknown): never {
  console.error(startupFailureLine(error))
  process.exit(1)
}

/** The one line: the reason's first line, without a value a database error names (an index that cannot be built over duplicates). */
export function startupFailureLine(error: unknown): string {
  return `users-service: cannot start: ${errorText(error).split('\n')[0]}`
}

/**
 * Fails fast when the port is taken, before the embedded database starts: a second `bun run dev`
 * used to start a second database on the same data first (issue 14). The port is bound and released
 * at once; the real listener binds it again moments later (a race with another process is possible,
 * and then the listener's own error is reported the same way). Port 0 is always free.
 */
export async function assertPortFree(host: string, port: number, variable = 'PORT'): Promise<void> {
  if (port === 0) return
  const probe = createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${port} on ${host} is in use (another users-service?): stop it, or set ${variable} to another port`)
          : error,
      ),
    )
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()))
  })
}

/** What a shell reports for a process a signal ended: 128 + the signal's number. */
const EXIT_STATUS_ON = { SIGTERM: 143, SIGINT: 130 } as const

/**
 * Until the service listens, SIGTERM or SIGINT ends the process at once: one line on stderr and
 * 128 + the signal's number. Without a handler, PID 1 in a container drops SIGTERM, so `docker
 * stop` during a slow start (a database that does not answer) waited out the grace period for a
 * SIGKILL. Each entry point calls this first; the function returned removes these handlers, once
 * `stopOnSignals` has put the orderly shutdown in their place.
 */
export function exitOnSignalsWhileStarting(): () => void {
  const removers = Object.entries(EXIT_STATUS_ON).map(([signal, status]) => {
    const exit = () => {
      console.error(`users-service: ${signal} while starting: exiting`)
      process.exit(status)
    }
    process.on(signal, exit)
    return () => process.off(signal, exit)
  })
  return () => {
    for (const remove of removers) remove()
  }
}
