import { ulid } from 'ulid'

/**
 * Ids this service mints for events and webhooks: a type prefix and a ULID (26 characters of
 * Crockford base32: 48 bits of milliseconds, then 80 random bits from the platform's CSPRNG).
 *
 * Why a ULID: an event id is minted by whichever instance takes the write, inside the user
 * document's update, before any sequence exists; it must be unique without coordination (80
 * random bits per millisecond), and it is the Standard Webhooks `webhook-id`, which must not
 * contain `.`. Its time prefix keeps the events collection's `_id` index append-mostly and tells a
 * reader when an id was minted; the order consumers rely on is `sequence`, never the id. An
 * ObjectId would do the first two, but only the mongodb driver makes them and these modules stay
 * free of it; API.md's example id (`evt_01JD8Z...`) is a ULID.
 */

/** A ULID: the first character is 0-7 (48-bit time), then Crockford base32 (no I, L, O, U). */
const ULID_BODY = '[0-7][0-9A-HJKMNP-TV-Z]{25}'

export const EVENT_ID_PATTERN = new RegExp(`^evt_${ULID_BODY}$`)
export const WEBHOOK_ID_PATTERN = new RegExp(`^wh_${ULID_BODY}$`)
export const DELIVERY_ID_PATTERN = new RegExp(`^dlv_${ULID_BODY}$`)

/** A new event id, `evt_` + ULID, its time part from the injected clock. */
export function newEventId(now: Date): string {
  return `evt_${ulid(now.getTime())}`
}

/** A new webhook endpoint id, `wh_` + ULID. */
export function newWebhookId(now: Date): string {
  return `wh_${ulid(now.getTime())}`
}

/** A new delivery id, `dlv_` + ULID. */
export function newDeliveryId(now: Date): string {
  return `dlv_${ulid(now.getTime())}`
}
