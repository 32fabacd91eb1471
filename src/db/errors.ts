import {
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb'
import { AppError } from '../http/app-error'

/** How driver errors map to what callers see; shared by every repository. */

/**
 * MongoDB reports a unique-index violation as 11000. FerretDB does so on insert, but on
 * update/findAndModify answers code 1 with the backend's own message (SQLite or PostgreSQL).
 */
export function isDuplicateKeyError(error: unknown): error is MongoServerError {
  if (!(error instanceof MongoServerError)) return false
  if (error.code === 11000 || error.code === 11001) return true
  return error.code === 1 && /UNIQUE constraint failed|duplicate key value violates unique constraint/.test(error.message)
}

let callDeadlineMs: number | undefined

/**
 * Sets how long one driver call may take before its request gets a 503 regardless; connectDatabase
 * calls it with its own bound. With several connections in one process (tests), the longest wins,
 * so no connection's calls are cut short.
 *
 * Why a deadline on top of the driver's timeouts: those bound each stage of a call (server
 * selection, pool checkout, socket), but a call started just as the database closes its connection
 * can stay pending forever (mongodb 7.9 on Bun; found by scripts/reliability/faults.ts: a PATCH
 * sent as the database was killed got no answer at all), and the socket timeout never fires on a
 * socket that is already closed.
 */
export function boundDatabaseCalls(ms: number): void {
  callDeadlineMs = Math.max(callDeadlineMs ?? 0, ms)
}

const unavailable = () =>
  new AppError('service_unavailable', 'The database is unavailable; retry shortly.', { headers: { 'Retry-After': '1' } })

/**
 * Runs a driver call, turning "the database cannot be reached" into a 503 the caller can retry;
 * so is a call still pending after the deadline (it may yet complete: a 503 promises nothing either way).
 */
export async function database<T>(operation: () => Promise<T>, deadlineMs = callDeadlineMs ?? 30_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable()), deadlineMs)
  })
  try {
    return await Promise.race([operation(), deadline])
  } catch (error) {
    if (isUnavailable(error)) throw unavailable()
    throw error
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The pool's errors are not exported by the driver, so they are known by name: no pooled
 * connection freed up within waitQueueTimeoutMS (every connection busy on a database that stopped
 * answering), and the pool closed under a waiting call (the client being reset).
 */
const POOL_ERRORS = new Set(['MongoWaitQueueTimeoutError', 'MongoPoolClosedError'])

function isUnavailable(error: unknown): boolean {
  return (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoOperationTimeoutError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoNotConnectedError ||
    // A call caught by a reset of the client (src/db/watchdog.ts).
    error instanceof MongoServerClosedError ||
    error instanceof MongoClientClosedError ||
    (error instanceof MongoError && (POOL_ERRORS.has(error.name) || error.hasErrorLabel('RetryableWriteError')))
  )
}
