import { createHash } from 'node:crypto'

/**
 * A delivery's id, the same every time for one endpoint and one event: `dlv_` and a ULID whose
 * time is the event's (the first 10 characters of its ULID) and whose 80 other bits come from a
 * SHA-256 of the endpoint and event ids. So a fan-out repeated after a crash names the same
 * deliveries and creates nothing twice (webhooks.deliveries.repository.ts), and the deliveries
 * list, sorted by id, is newest event first.
 */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

export function deliveryIdFor(webhookId: string, eventId: string): string {
  const time = eventId.slice('evt_'.length, 'evt_'.length + 10)
  const digest = createHash('sha256').update(`${webhookId}\u0000${eventId}`).digest()
  // 16 base32 characters from the first 80 bits (10 bytes) of the digest, 5 bits each.
  let bits = 0n
  for (const byte of digest.subarray(0, 10)) bits = (bits << 8n) | BigInt(byte)
  let random = ''
  for (let i = 15; i >= 0; i--) random += CROCKFORD[Number((bits >> BigInt(i * 5)) & 31n)]
  return `dlv_${time}${random}`
}
