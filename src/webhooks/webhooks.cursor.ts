import { createHash } from 'node:crypto'
import { z } from '@hono/zod-openapi'
import { InvalidInputError } from '../errors'
import { DELIVERY_ID_PATTERN } from '../events/events.ids'
import type { DeliveryStatus } from './webhooks.model'

/**
 * The deliveries list's cursor: the last delivery of a page, with a fingerprint of the list it
 * belongs to (the endpoint and the status filter), as the users' cursors carry theirs. A cursor
 * from another endpoint's list or another filter is refused (400 cursor_mismatch), as is anything
 * this service did not issue (a bare delivery id was taken as a cursor, a consumer's review found).
 */
type DeliveriesList = { webhookId: string; status?: DeliveryStatus | undefined }

const fingerprint = ({ webhookId, status }: DeliveriesList) =>
  createHash('sha256')
    .update(JSON.stringify([webhookId, status ?? null]))
    .digest('hex')
    .slice(0, 16)

export function encodeDeliveriesCursor(list: DeliveriesList, lastId: string): string {
  return Buffer.from(JSON.stringify({ v: 1, f: fingerprint(list), b: lastId })).toString('base64url')
}

/** The delivery the next page starts after, or InvalidInputError naming `cursor`. */
export function decodeDeliveriesCursor(list: DeliveriesList, cursor: string): string {
  const payload = parse(cursor)
  if (!payload) throw invalid('invalid_cursor', 'is not a cursor this service issued')
  if (payload.f !== fingerprint(list)) {
    throw invalid('cursor_mismatch', "was issued for another endpoint's list or status filter; start again without a cursor")
  }
  return payload.b
}

const CursorSchema = z.strictObject({ v: z.literal(1), f: z.string(), b: z.string().regex(DELIVERY_ID_PATTERN) })

function parse(cursor: string): { f: string; b: string } | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null
  try {
    const result = CursorSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')))
    return result.success ? result.data : null
  } catch {
    return null
  }
}

function invalid(code: string, message: string): InvalidInputError {
  return new InvalidInputError(`The cursor ${message}.`, [{ field: 'cursor', code, message }])
}
