import { createHash } from 'node:crypto'
import type { z } from '@hono/zod-openapi'
import { InvalidInputError } from './errors'

/**
 * What the lists' cursors share (the users' in users.pagination.ts, the webhook deliveries' in
 * webhooks.cursor.ts): a payload handed out as base64url JSON, a fingerprint of the list it belongs
 * to (its filters and sort), and the 400 at `/cursor` for anything else.
 */

/** A short fingerprint of a list's shape: the same parts give the same string. */
export function listFingerprint(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16)
}

/** The opaque cursor handed to callers. */
export function encodeCursorPayload(payload: object): string {
  return Buffer.from(JSON.stringify(payload)).toString('base64url')
}

/** The payload of a cursor as `schema` reads it, or null for anything this service did not issue. */
export function decodeCursorPayload<T>(schema: z.ZodType<T>, cursor: string): T | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null
  try {
    const result = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')))
    return result.success ? result.data : null
  } catch {
    return null
  }
}

/** The 400 naming `cursor` (`invalid_cursor`, `cursor_mismatch`). */
export function invalidCursor(code: string, message: string): InvalidInputError {
  return new InvalidInputError(`The cursor ${message}.`, [{ field: 'cursor', code, message }])
}
