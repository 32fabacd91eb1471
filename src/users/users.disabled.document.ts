import type { Filter } from '../db/driver'
import type { UserDocument } from './users.document'
import type { User } from './users.schemas'

/**
 * Disable with expiry, on the stored shape: a user stored `status: "disabled"` with a
 * `disabledUntil` that has passed *is* active, with no write (API.md v1.1). Reads map it so
 * (`effectiveStatus`), and every query that selects by status asks for the effective one in its
 * own filter (`hasStatus`): one query, as before, the same for a page, its cursor and its count.
 * The comparison is with the caller's clock (the repository's `now`), so tests can move time.
 */

/** Whether a stored disable has run out. */
function hasLapsed(doc: Pick<UserDocument, 'status' | 'disabledUntil'>, now: Date): boolean {
  return doc.status === 'disabled' && doc.disabledUntil !== undefined && doc.disabledUntil.getTime() <= now.getTime()
}

/** The status a stored user has now, and the disable's details while it holds. */
export function effectiveStatus(
  doc: Pick<UserDocument, 'status' | 'disabledUntil' | 'disabledReason'>,
  now: Date,
): Pick<User, 'status' | 'disabledUntil' | 'disabledReason'> {
  if (doc.status !== 'disabled' || hasLapsed(doc, now)) return { status: 'active' }
  return {
    status: 'disabled',
    ...(doc.disabledUntil !== undefined ? { disabledUntil: doc.disabledUntil.toISOString() } : {}),
    ...(doc.disabledReason !== undefined ? { disabledReason: doc.disabledReason } : {}),
  }
}

/** The filter selecting users whose status is `status` now. */
export function hasStatus(status: User['status'], now: Date): Filter<UserDocument> {
  if (status === 'active') return { $or: [{ status: 'active' }, { status: 'disabled', disabledUntil: { $lte: now } }] }
  return { status: 'disabled', $or: [{ disabledUntil: { $exists: false } }, { disabledUntil: { $gt: now } }] }
}
