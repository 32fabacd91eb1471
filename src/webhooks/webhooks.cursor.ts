import { z } from '@hono/zod-openapi'
import { decodeCursorPayload, encodeCursorPayload, invalidCursor, listFingerprint } from '../cursor'
import { DELIVERY_ID_PATTERN } from '../events/events.ids'
import type { DeliveryStatus } from './webhooks.model'

/**
 * The deliveries list's cursor: the last delivery of a page, with a fingerprint of the list it
 * belongs to (the endpoint and the status filter), as the users' cursors carry theirs. A cursor
 * from another endpoint's list or another filter is refused (400 cursor_mismatch), as is anything
 * this service did not issue (a bare delivery id was taken as a cursor, a consumer's review found).
 */
type DeliveriesList = { webhookId: string; status?: DeliveryStatus | undefined }

const fingerprint = ({ webhookId, status }: DeliveriesList) => listFingerprint([webhookId, status ?? null])

const CursorSchema = z.strictObject({ v: z.literal(1), f: z.string(), b: z.string().regex(DELIVERY_ID_PATTERN) })

export function encodeDeliveriesCursor(list: DeliveriesList, lastId: string): string {
  return encodeCursorPayload({ v: 1, f: fingerprint(list), b: lastId })
}

/** The delivery the next page starts after, or InvalidInputError naming `cursor`. */
export function decodeDeliveriesCursor(list: DeliveriesList, cursor: string): string {
  const payload = decodeCursorPayload(CursorSchema, cursor)
  if (!payload) throw invalidCursor('invalid_cursor', 'is not a cursor this service issued')
  if (payload.f !== fingerprint(list)) {
    throw invalidCursor(
      'cursor_mismatch',
      "was issued for another endpoint's list or status filter; start again without a cursor",
    )
  }
  return payload.b
}
