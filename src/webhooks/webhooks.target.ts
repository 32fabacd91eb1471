import { promises as dns } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'

/**
 * The SSRF guard for webhook targets. A target is checked twice: its literal host when an endpoint
 * is created or its URL changed (`checkWebhookTarget`), and again at every delivery after DNS
 * resolution (`resolveWebhookTarget`): every A/AAAA record must be public, or the attempt is
 * refused. The sender then connects to those vetted addresses only (`pinnedLookup`), so a DNS
 * answer that changes between the check and the connection (rebinding) is never used.
 *
 * Hosts are read after WHATWG URL parsing, as the HTTP client reads them: `http://2130706433/`,
 * `0x7f.1`, `0177.0.0.1` and `127.1` all arrive here as `127.0.0.1`, and `[::ffff:127.0.0.1]` as
 * `[::ffff:7f00:1]`.
 */

export type TargetPolicy = {
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: allow http:// and private, loopback or link-local hosts (development, tests). */
  allowPrivateTargets: boolean
}

export type TargetRefusalReason =
  | 'invalid_url'
  | 'scheme_not_allowed'
  | 'credentials_in_url'
  | 'fragment_in_url'
  | 'port_not_allowed'
  | 'private_name'
  | 'private_address'
  | 'unresolvable'

export type TargetRefusal = { ok: false; reason: TargetRefusalReason; message: string }
export type CheckedTarget = { ok: true; url: URL }
export type ResolvedAddress = { address: string; family: 4 | 6 }
export type ResolvedTarget = { ok: true; url: URL; hostname: string; addresses: ResolvedAddress[] }

/** Resolves a host name to every address it has, as the platform's resolver does (getaddrinfo). */
export type Resolver = (hostname: string) => Promise<readonly { address: string; family: number }[]>

export const MAX_TARGET_URL_LENGTH = 2048

/** The platform resolver (getaddrinfo: /etc/hosts, then DNS): what a plain connection would use. */
export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true })

// Names that never lead to the public internet: RFC 6761 (localhost), RFC 6762 (.local, mDNS),
// RFC 8375 (home.arpa) and ICANN's private-use .internal (2024).
const PRIVATE_SUFFIXES = ['localhost', 'local', 'internal', 'home.arpa', 'localdomain']
// IPv4-compatible IPv6 (::a.b.c.d, RFC 4291 §2.5.5.1, deprecated): ipaddr.js has no name for it.
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96')

/**
 * Whether an address may receive webhooks in production: only what ipaddr.js classifies as
 * `unicast` (global). Everything it names is refused — private (RFC 1918), loopback, link-local
 * (169.254.169.254 is the cloud metadata service), unique-local (fc00::/7), carrier-grade NAT
 * (100.64.0.0/10), multicast, broadcast, unspecified, reserved and documentation ranges, 6to4,
 * Teredo and NAT64 prefixes (which can embed a private IPv4) — and so is an IPv4-mapped or
 * IPv4-compatible IPv6 address of any of those.
 */
export function isPublicAddress(address: string): boolean {
  if (isIP(address) === 0) return false
  let parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address()
    else if (v6.match(IPV4_COMPATIBLE)) return false
  }
  return parsed.range() === 'unicast'
}

/**
 * The range ipaddr.js gives an address (after unwrapping IPv4-mapped IPv6), for refusal messages;
 * an IPv4-compatible one (refused whatever it embeds) is named as such, not by the range ipaddr.js
 * gives it ("::7f00:1 is unicast", a security review found).
 */
function rangeOf(address: string): string {
  const parsed = ipaddr.process(address)
  const range = parsed.range()
  // ::/96 holds ::1 and :: too, which keep their own names (loopback, unspecified).
  if (range === 'unicast' && parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).match(IPV4_COMPATIBLE)) {
    return 'IPv4-compatible (deprecated)'
  }
  return range
}

/** `[::1]` → `::1`: WHATWG keeps the brackets of an IPv6 host, the resolver and `net` want none. */
function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}

/** Whether a host name is one that never leads to the public internet (checked without DNS). */
function isPrivateName(hostname: string): boolean {
  const name = hostname.replace(/\.$/, '')
  if (!name.includes('.')) return true // single-label: resolved through search domains, inside the network
  return PRIVATE_SUFFIXES.some((suffix) => name === suffix || name.endsWith(`.${suffix}`))
}

function refuse(reason: TargetRefusalReason, message: string): TargetRefusal {
  return { ok: false, reason, message }
}

/**
 * Create-time check of a webhook URL and its literal host: an absolute `https://` URL (http too
 * when private targets are allowed) without credentials or fragment, whose host, if an IP address,
 * is public, and if a name, is not one that is private by definition. The caller stores `url.href`.
 */
export function checkWebhookTarget(input: string, policy: TargetPolicy): CheckedTarget | TargetRefusal {
  if (input.length > MAX_TARGET_URL_LENGTH) {
    return refuse('invalid_url', `must be at most ${MAX_TARGET_URL_LENGTH} characters`)
  }
  let url: URL
  try {
    url = new URL(input)
  } catch {
    return refuse('invalid_url', 'must be an absolute URL')
  }
  const schemes = policy.allowPrivateTargets ? ['https:', 'http:'] : ['https:']
  if (!schemes.includes(url.protocol)) {
    return refuse('scheme_not_allowed', policy.allowPrivateTargets ? 'must use https:// or http://' : 'must use https://')
  }
  if (url.username || url.password) return refuse('credentials_in_url', 'must not contain credentials (user:password@)')
  if (url.hash || input.includes('#')) return refuse('fragment_in_url', 'must not contain a fragment (#...)')
  if (url.port === '0') return refuse('port_not_allowed', 'must not use port 0')
  if (policy.allowPrivateTargets) return { ok: true, url }

  const host = unbracket(url.hostname)
  if (isIP(host) !== 0) {
    if (!isPublicAddress(host)) {
      return refuse(
        'private_address',
        `must not point to a private, loopback or link-local address (${host} is ${rangeOf(host)})`,
      )
    }
  } else if (isPrivateName(host)) {
    return refuse('private_name', `must name a public host (${host} is a local or internal name)`)
  }
  return { ok: true, url }
}

/**
 * Delivery-time check: the create-time rules again (the policy may have changed), then every
 * address the host resolves to through `resolver`. Refused if the name does not resolve or if ANY
 * address is not public: an attacker's DNS could otherwise answer one public and one private
 * record and let the connection pick. The addresses returned are the ones to connect to.
 */
export async function resolveWebhookTarget(
  input: string,
  policy: TargetPolicy & { resolver: Resolver },
): Promise<ResolvedTarget | TargetRefusal> {
  const checked = checkWebhookTarget(input, policy)
  if (!checked.ok) return checked
  const hostname = unbracket(checked.url.hostname)
  let addresses: ResolvedAddress[]
  if (isIP(hostname) !== 0) {
    addresses = [{ address: hostname, family: isIP(hostname) === 6 ? 6 : 4 }]
  } else {
    try {
      const answers = await policy.resolver(hostname)
      addresses = answers.map(({ address }) => ({ address, family: isIP(address) === 6 ? 6 : 4 }))
      if (answers.some(({ address }) => isIP(address) === 0)) return refuse('unresolvable', 'the resolver answered a non-address')
    } catch (error) {
      const code = (error as { code?: unknown }).code
      return refuse('unresolvable', `the host did not resolve${typeof code === 'string' ? ` (${code})` : ''}`)
    }
    if (addresses.length === 0) return refuse('unresolvable', 'the host did not resolve')
  }
  if (!policy.allowPrivateTargets) {
    const disallowed = addresses.find(({ address }) => !isPublicAddress(address))
    if (disallowed) {
      return refuse('private_address', `the host resolves to a non-public address (${rangeOf(disallowed.address)})`)
    }
  }
  return { ok: true, url: checked.url, hostname, addresses }
}

/**
 * A `lookup` for `http.request`/`https.request` (honoured by Node and Bun) that answers with the
 * vetted addresses instead of asking DNS again. TLS still verifies the certificate against the
 * URL's host name, and the Host header stays the URL's host.
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const family = typeof options === 'object' && options ? options.family : undefined
    const wanted = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses
    const first = wanted[0]
    if (!first) {
      const error = Object.assign(new Error('no vetted address of the requested family'), { code: 'ENOTFOUND' })
      callback(error, '', 0)
      return
    }
    if (typeof options === 'object' && options?.all) {
      callback(null, [...wanted])
      return
    }
    callback(null, first.address, first.family)
  }
}
