import { z } from '@hono/zod-openapi'
import ipaddr from 'ipaddr.js'

/**
 * The end user's address as a caller may pass it with credentials: one IPv4 address in dotted
 * decimal (no leading zeros) or one IPv6 address (no zone, no brackets, no port, no prefix length).
 * ipaddr.js parses what the schema lets through, so the check runs twice: a value one accepts and
 * the other does not is a 400, never a 500.
 */
export const EndUserAddressSchema = z
  .union([z.ipv4().openapi({ format: 'ipv4' }), z.ipv6().openapi({ format: 'ipv6' })], {
    error: 'must be an IPv4 or IPv6 address',
  })
  .refine((value) => ipaddr.isValid(value), 'must be an IPv4 or IPv6 address')

/**
 * What one address counter counts: the IPv4 address (an IPv4-mapped IPv6 address, `::ffff:a.b.c.d`,
 * is its IPv4 address), or the /64 network of an IPv6 address. A /64 is the smallest network an
 * ISP assigns to a customer, and every host on it can take any of its 2^64 addresses, so counting
 * per address would let one host rotate past the limit; counting per /64 does not (a household or
 * an office behind one /64 counts as one, as it does behind one IPv4 address).
 */
export function addressKey(address: string): string {
  const parsed = ipaddr.process(address)
  if (parsed.kind() === 'ipv4') return parsed.toString()
  const network = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16))
  return `${network.join(':')}::/64`
}
