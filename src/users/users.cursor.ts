import { createHash } from 'node:crypto'
import { z } from '@hono/zod-openapi'
import { AppError } from '../http/app-error'
import type { ListUsersQuery } from './users.schemas'

/**
 * Keyset cursors. A cursor names the last item of a page by its sort key and id, and carries a
 * fingerprint of the filters and sort it was issued for, so reusing it with others is refused
 * instead of silently skipping or repeating users. It is opaque to callers (base64url JSON).
 */
export type CursorPosition = { key: string; id: string }

const CursorSchema = z.strictObject({
  v: z.literal(1),
  f: z.string().regex(/^[0-9a-f]{16}$/),
  k: z.string().max(1024),
  i: z.string().regex(/^[0-9a-f]{24}$/),
})

type ListShape = Pick<ListUsersQuery, 'role' | 'status' | 'q' | 'sort'>

function fingerprint({ role, status, q, sort }: ListShape): string {
  const canonical = JSON.stringify([sort, role ?? null, status ?? null, q?.toLowerCase() ?? null])
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16)
}

export function encodeCursor(query: ListShape, position: CursorPosition): string {
  const payload = { v: 1, f: fingerprint(query), k: position.key, i: position.id }
  return Buffer.from(JSON.stringify(payload)).toString('base64url')
}

// The key is a createdAt timestamp or a lower-cased username, depending on the sort.
const KEY_BY_SORT = {
  createdAt: z.iso.datetime(),
  username: z.string().regex(/^[a-z0-9._-]{3,32}$/),
}

/** Decodes a cursor issued for the same filters and sort, or throws a 400 naming `cursor`. */
export function decodeCursor(query: ListShape, cursor: string): CursorPosition {
  const payload = parsePayload(cursor)
  if (!payload) throw invalidCursor('invalid_cursor', 'is not a cursor this service issued')
  if (payload.f !== fingerprint(query)) {
    throw invalidCursor('cursor_mismatch', 'was issued for different filters or sort; start again without a cursor')
  }
  const keySchema = KEY_BY_SORT[query.sort.endsWith('username') ? 'username' : 'createdAt']
  if (!keySchema.safeParse(payload.k).success) throw invalidCursor('invalid_cursor', 'is not a cursor this service issued')
  return { key: payload.k, id: payload.i }
}

function parsePayload(cursor: string) {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null
  try {
    const result = CursorSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')))
    return result.success ? result.data : null
  } catch {
    return null
  }
}

function invalidCursor(code: string, message: string): AppError {
  return new AppError('validation_failed', `The cursor ${message}.`, {
    errors: [{ location: 'query', pointer: '/cursor', code, message }],
  })
}
