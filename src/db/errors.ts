import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
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

/** Runs a driver call, turning "the database cannot be reached" into a 503 the caller can retry. */
export async function database<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (isUnavailable(error)) {
      throw new AppError('service_unavailable', 'The database is unavailable; retry shortly.', {
        headers: { 'Retry-After': '1' },
      })
    }
    throw error
  }
}

function isUnavailable(error: unknown): boolean {
  return (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoOperationTimeoutError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoNotConnectedError ||
    (error instanceof MongoError && error.hasErrorLabel('RetryableWriteError'))
  )
}
