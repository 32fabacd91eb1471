import { z } from '@hono/zod-openapi'
import ipaddr from 'ipaddr.js'

/** Dotted decimal, four parts, no leading zeros (`010.0.0.1` is octal to some parsers, decimal to others). */
const isIPv4 = (value: string) => ipaddr.IPv4.isValidFourPartDecimal(value)

/** RFC 4291 text (mixed notation included), without a zone (`%eth0`: meaningless off the host). */
function isIPv6(value: string): boolean {
  if (value.includes('%') || !ipaddr.IPv6.isValid(value)) return false
  const tail = value.slice(value.lastIndexOf(':') + 1)
  return !tail.includes('.') || isIPv4(tail)
}

/**
 * The end user's address as a caller may pass it with credentials: one IPv4 address in dotted
 * decimal or one IPv6 address in any RFC 4291 form; no brackets, port, prefix length or zone.
 * Checked by ipaddr.js (zod's IPv6 pattern refuses valid mixed forms such as `1:2:3:4::1.2.3.4`).
 */
export const EndUserAddressSchema = z.union(
  [z.string().max(15).refine(isIPv4).openapi({ format: 'ipv4' }), z.string().max(45).refine(isIPv6).openapi({ format: 'ipv6' })],
  { error: 'must be an IPv4 or IPv6 address' },
)

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
