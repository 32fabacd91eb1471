import type { MongoQuery } from './scim.query'

/**
 * The `active` hook for a `status` field ('active' | 'disabled') with an optional expiry: a user
 * disabled until a time that has passed (`disabledUntil <= now`) is active, with no write needed.
 */
export function activeFromStatus(
  now: Date,
  fields: { status: string; disabledUntil: string } = { status: 'status', disabledUntil: 'disabledUntil' },
): (active: boolean) => MongoQuery {
  const expired = { [fields.status]: 'disabled', [fields.disabledUntil]: { $lte: now } }
  return (active) =>
    active
      ? { $or: [{ [fields.status]: 'active' }, expired] }
      : { [fields.status]: 'disabled', $nor: [{ [fields.disabledUntil]: { $lte: now } }] }
}
