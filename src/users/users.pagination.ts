import { z } from '@hono/zod-openapi'
import { decodeCursorPayload, encodeCursorPayload, invalidCursor, listFingerprint } from '../cursor'
import { type Filter, ObjectId, type Sort } from '../db/driver'
import { hasStatus } from './users.disabled.document'
import { type StoredUser, toUser, type UserDocument } from './users.document'
import { DELETED_USERNAME_KEY, deletedFilter, deletedPrefixFilter, NOT_DELETED } from './users.lifecycle.document'
import type { UserPage } from './users.model'
import { type ListUsersQuery, USERNAME_MAX_LENGTH, USERNAME_PATTERN } from './users.schemas'

/**
 * Keyset paging, whole: what each `sort` means, the page's find, and the cursor codec. A cursor
 * names the last item of a page by its sort key and id, and carries a fingerprint of the filters
 * and sort it was issued for, so reusing it with others is refused instead of silently skipping
 * or repeating users. It is opaque to callers (base64url JSON).
 */
export type CursorPosition = { key: string; id: string }

type ListShape = Pick<ListUsersQuery, 'role' | 'status' | 'q' | 'sort'> & { deleted?: boolean }

/** What a sort means; the one place that reads `sort`. */
function sortPlan(sort: ListUsersQuery['sort'], deleted = false) {
  const direction = sort.startsWith('-') ? -1 : 1
  if (sort.endsWith('username') && deleted) return deletedByUsername(direction)
  if (sort.endsWith('username')) {
    // usernameKey is unique, so it orders users totally: no tie-breaker needed.
    return {
      direction,
      sort: { usernameKey: direction } as Sort,
      // A username's key: a username, lower-cased.
      keySchema: z
        .string()
        .max(USERNAME_MAX_LENGTH)
        .regex(new RegExp(USERNAME_PATTERN))
        .refine((key) => key === key.toLowerCase()),
      keyOf: (doc: StoredUser) => doc.usernameKey,
      after: (op: '$lt' | '$gt', position: CursorPosition): Filter<UserDocument> => ({ usernameKey: { [op]: position.key } }),
    }
  }
  // The createdAt_id index serves this sort (and its reverse, read backwards); _id breaks ties.
  return {
    direction,
    sort: { createdAt: direction, _id: direction } as Sort,
    keySchema: z.iso.datetime(),
    keyOf: (doc: StoredUser) => doc.createdAt.toISOString(),
    after: (op: '$lt' | '$gt', position: CursorPosition): Filter<UserDocument> => {
      const createdAt = new Date(position.key)
      return {
        ...from('createdAt', op, createdAt),
        $or: [{ createdAt: { [op]: createdAt } }, { createdAt, _id: { [op]: new ObjectId(position.id) } }],
      }
    },
  }
}

/**
 * The sort key's range from the cursor on, beside the `$or` that breaks ties by `_id`: the `$or`
 * alone gives MongoDB's planner no bounds on the sort's index, which it may then scan from the
 * first user on every page (page 1,000 reading 100,000 keys); with it, the scan starts at the
 * cursor. It selects nothing the `$or` does not.
 */
function from<K extends string, V>(key: K, op: '$lt' | '$gt', value: V) {
  return { [key]: { [op === '$lt' ? '$lte' : '$gte']: value } } as Record<K, { $lte?: V; $gte?: V }>
}

/**
 * `sort=username` over deleted users. Their unique keys are released (users.lifecycle.document.ts),
 * so they are ordered by the username as stored, case-sensitively, with `_id` breaking ties: two
 * deleted users may have held the same name one after the other.
 */
function deletedByUsername(direction: 1 | -1) {
  return {
    direction,
    sort: { username: direction, _id: direction } as Sort,
    keySchema: DELETED_USERNAME_KEY,
    keyOf: (doc: StoredUser) => doc.username,
    after: (op: '$lt' | '$gt', position: CursorPosition): Filter<UserDocument> => ({
      ...from('username', op, position.key),
      $or: [{ username: { [op]: position.key } }, { username: position.key, _id: { [op]: new ObjectId(position.id) } }],
    }),
  }
}

/**
 * The find of one page: the filters, and after a cursor the range that starts past its position
 * (never a skip: page 10,000 costs what page 1 costs). One more than the page is asked for, to
 * know whether another follows. `countFilter` is what `total` counts. `status` is the status at
 * `now` (a disable that has run out is active), in the same filter: still one query.
 */
export function pageQuery(query: ListUsersQuery, now: Date) {
  const filter: Filter<UserDocument> = query.deleted ? deletedFilter(now) : { ...NOT_DELETED }
  if (query.role) filter.role = query.role
  if (query.q && query.deleted) filter.$or = deletedPrefixFilter(query.q)
  else if (query.q) {
    // Prefix match on the normalized keys: an anchored, case-sensitive regex on a lower-cased
    // field can use the unique indexes on MongoDB, unlike a case-insensitive regex.
    const prefix = new RegExp(`^${escapeRegExp(query.q.toLowerCase())}`)
    filter.$or = [{ usernameKey: prefix }, { emailKey: prefix }]
  }
  if (query.status) filter.$and = [hasStatus(query.status, now)]
  const plan = sortPlan(query.sort, query.deleted)
  const position = query.cursor ? decodeCursor(query, query.cursor) : undefined
  const after = position && plan.after(plan.direction === -1 ? '$lt' : '$gt', position)
  return { filter: after ? { $and: [filter, after] } : filter, countFilter: filter, sort: plan.sort, limit: query.limit + 1 }
}

/** The page from the documents its find returned (up to one more than the page). */
export function toPage(query: ListUsersQuery, docs: StoredUser[], total: number | undefined, now: Date): UserPage {
  const items = docs.slice(0, query.limit)
  const last = items.at(-1)
  const position = last && { key: sortPlan(query.sort, query.deleted).keyOf(last), id: last._id.toHexString() }
  const nextCursor = docs.length > query.limit && position ? encodeCursor(query, position) : null
  return { items: items.map((doc) => toUser(doc, now)), nextCursor, ...(total !== undefined ? { total } : {}) }
}

const CursorSchema = z.strictObject({
  v: z.literal(1),
  f: z.string().regex(/^[0-9a-f]{16}$/),
  k: z.string().max(1024),
  i: z.string().regex(/^[0-9a-f]{24}$/),
})

function fingerprint({ role, status, q, sort, deleted }: ListShape): string {
  // `deleted` only when true: cursors issued before it existed stay valid for the same lists.
  return listFingerprint([sort, role ?? null, status ?? null, q?.toLowerCase() ?? null, ...(deleted ? [true] : [])])
}

export function encodeCursor(query: ListShape, position: CursorPosition): string {
  return encodeCursorPayload({ v: 1, f: fingerprint(query), k: position.key, i: position.id })
}

/** Decodes a cursor issued for the same filters and sort, or throws InvalidInputError naming `cursor`. */
export function decodeCursor(query: ListShape, cursor: string): CursorPosition {
  const payload = decodeCursorPayload(CursorSchema, cursor)
  if (!payload) throw invalidCursor('invalid_cursor', 'is not a cursor this service issued')
  if (payload.f !== fingerprint(query)) {
    throw invalidCursor('cursor_mismatch', 'was issued for different filters or sort; start again without a cursor')
  }
  if (!sortPlan(query.sort, query.deleted).keySchema.safeParse(payload.k).success) {
    throw invalidCursor('invalid_cursor', 'is not a cursor this service issued')
  }
  return { key: payload.k, id: payload.i }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
