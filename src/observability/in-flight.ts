import type { Context } from 'hono'

/** A request being answered: its context and when it began. */
type Running = { c: Context; started: number }

/**
 * The requests this process is answering now, so that those cut at the shutdown deadline still get
 * a log line (observe.ts writes every other request's once it is answered). A Set add and delete
 * per request.
 */
export type InFlight = {
  begin(c: Context, started: number): Running
  end(running: Running): void
  /** Each request still running, as `describe` names it, with how long it has run. */
  running<T>(describe: (c: Context) => T): (T & { durationMs: number })[]
}

export function createInFlight(): InFlight {
  const requests = new Set<Running>()
  return {
    begin(c, started) {
      const running = { c, started }
      requests.add(running)
      return running
    },
    end: (running) => void requests.delete(running),
    running: (describe) =>
      [...requests].map(({ c, started }) => ({
        ...describe(c),
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      })),
  }
}
