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

/** How driver errors are told apart; shared by every repository. */

/**
 * MongoDB reports a unique-index violation as 11000. FerretDB does so on insert, but on
 * update/findAndModify answers code 1 with the backend's own message (SQLite or PostgreSQL).
 */
export function isDuplicateKeyError(error: unknown): error is MongoServerError {
  if (!(error instanceof MongoServerError)) return false
  if (error.code === 11000 || error.code === 11001) return true
  return error.code === 1 && /UNIQUE constraint failed|duplicate key value violates unique constraint/.test(error.message)
}

/**
 * The pool's errors are not exported by the driver, so they are known by name: no pooled
 * connection freed up within waitQueueTimeoutMS (every connection busy on a database that stopped
 * answering), and the pool closed under a waiting call (the client being reset).
 */
const POOL_ERRORS = new Set(['MongoWaitQueueTimeoutError', 'MongoPoolClosedError'])

/** MaxTimeMSExpired: the server stopped the operation at the `maxTimeMS` it was given. */
const MAX_TIME_MS_EXPIRED = 50

/**
 * What a replica set answers while its primary steps down, shuts down or cannot be reached (the
 * codes the driver's retryable reads and writes retry on): HostUnreachable, HostNotFound,
 * NetworkTimeout, ShutdownInProgress, PrimarySteppedDown, ExceededTimeLimit, SocketException,
 * NotWritablePrimary, InterruptedAtShutdown, InterruptedDueToReplStateChange,
 * NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary, and ReadConcernMajorityNotAvailableYet (134: a
 * majority read, COMMITTED_READS, on a member that has no majority snapshot yet, as a new primary
 * right after an election). The driver retries a read or a retryable write once; a second such
 * answer, or one to a write it does not retry (updateMany, deleteMany), is a failover in progress:
 * 503, not 500. Also WriteConcernFailed (64): a `w: majority` write not replicated within a
 * `wtimeoutMS` the URI may give (a lagging secondary); applied on the primary or not, its outcome
 * is unknown, as a socket timeout's is.
 */
const FAILOVER_CODES = new Set([6, 7, 64, 89, 91, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436])

/** True when the database could not do the work now (unreachable, reset, out of time, a failover): a retry may succeed. */
export function isUnavailable(error: unknown): boolean {
  return (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoOperationTimeoutError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoNotConnectedError ||
    // A call caught by a reset of the client (src/db/watchdog.ts).
    error instanceof MongoServerClosedError ||
    error instanceof MongoClientClosedError ||
    isOutOfTime(error) ||
    (error instanceof MongoServerError && FAILOVER_CODES.has(Number(error.code))) ||
    (error instanceof MongoError && (POOL_ERRORS.has(error.name) || error.hasErrorLabel('RetryableWriteError')))
  )
}

/**
 * The server's time limit ran out. MongoDB and FerretDB's find/aggregate say 50 MaxTimeMSExpired;
 * FerretDB's findAndModify says code 1 with Go's "context deadline exceeded" (seen with v1.24.2).
 */
function isOutOfTime(error: unknown): boolean {
  if (!(error instanceof MongoServerError)) return false
  return error.code === MAX_TIME_MS_EXPIRED || (error.code === 1 && /context deadline exceeded/.test(error.message))
}
