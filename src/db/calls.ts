import type { CollectionOptions, Db } from 'mongodb'
import { UnavailableError } from '../errors'
import { isUnavailable } from './errors'

/** The server-side time limit a call passes in its options. */
export type TimeLimit = { maxTimeMS: number }

/**
 * What every repository is built on: a database and the one way to call it. The deadline belongs
 * to the handle (each connection its own), never to the process.
 */
export type DatabaseHandle = {
  db: Db
  /**
   * Runs one driver call. `operation` receives the server-side time limit and passes it on as
   * `maxTimeMS` wherever the server accepts one (see docs/architecture.md, "Database deadlines"),
   * so the server also stops work whose answer nobody will wait for. A call that fails because
   * the database cannot do the work now, or that is still pending at the handle's deadline, throws
   * UnavailableError (it may yet complete: a 503 promises nothing either way).
   */
  call<T>(operation: (limit: TimeLimit) => Promise<T>): Promise<T>
  /** Where startup's index builds run (src/db/indexes.ts); without it, on `db` itself. */
  indexBuilds?: IndexBuilds
}

/** One index build as reported: its collection and name, the documents it is built over, and once done its duration. */
export type IndexBuild = { collection: string; index: string; documents: number; durationMs?: number }

/**
 * Index builds at startup: a build over a large collection may take minutes, far past a call's
 * socket timeout, so they run on a client without one, made only when an index is missing.
 */
export type IndexBuilds = {
  /** The same database on that client (connected on first use). */
  db(): Promise<Db>
  /** Told before each build, and after it with its duration: startup is waiting for it. */
  report?(build: IndexBuild): void
}

/**
 * The limits derived from a connection's per-stage timeout (server selection, pool checkout and
 * socket each get `timeoutMs`, see connectDatabase). A call may take a server selection and a
 * socket wait before it answers, plus a second of margin: past that the driver is stuck, and the
 * deadline answers instead. The server gets `timeoutMs` for the work itself: the socket timeout
 * would give up on it then anyway.
 *
 * Why a deadline on top of the driver's timeouts: those bound each stage of a call, but a call
 * started just as the database closes its connection can stay pending forever (mongodb 7.9 on
 * Bun; found by scripts/reliability/faults.ts: a PATCH sent as the database was killed got no
 * answer at all), and the socket timeout never fires on a socket that is already closed.
 */
export function callLimits(timeoutMs: number): { deadlineMs: number; maxTimeMS: number } {
  return { deadlineMs: 2 * timeoutMs + 1000, maxTimeMS: timeoutMs }
}

const DEFAULT_LIMITS = callLimits(5000)

/** A `call` with these limits (see DatabaseHandle.call). */
export function boundCalls(limits: { deadlineMs: number; maxTimeMS: number } = DEFAULT_LIMITS): DatabaseHandle['call'] {
  const limit: TimeLimit = { maxTimeMS: limits.maxTimeMS }
  return async (operation) => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable()), limits.deadlineMs)
    })
    try {
      return await Promise.race([operation(limit), deadline])
    } catch (error) {
      if (isUnavailable(error)) throw unavailable()
      throw error
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * The collection option of the change events' readers (the relay's reads of the outboxes and of its
 * state, the feed, the webhook dispatcher): read only what a majority of the replica set has
 * written, which no failover can roll back. At the default (`local`) they could read a change
 * applied on a primary that then loses it: the relay would publish an event for a change that never
 * happened, and the feed show a watermark and events that a new primary hands out again under the
 * same sequences. Every write is `w: majority` (src/db/mongo.ts), so a reader sees its own and every
 * acknowledged write; on a primary a majority read waits for nothing. FerretDB accepts and ignores it.
 */
export const COMMITTED_READS = { readConcern: { level: 'majority' } } as const satisfies CollectionOptions

/** A handle on a `Db` opened elsewhere (tests with their own client, one-off scripts). */
export function attachDatabase(db: Db, limits = DEFAULT_LIMITS): DatabaseHandle {
  return { db, call: boundCalls(limits) }
}

const unavailable = () => new UnavailableError('The database is unavailable; retry shortly.', 1)
