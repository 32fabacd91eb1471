import { describe, expect, it } from 'bun:test'
import type { LookupAddress } from 'node:dns'
import {
  checkWebhookTarget,
  isPublicAddress,
  MAX_TARGET_URL_LENGTH,
  pinnedLookup,
  type Resolver,
  resolveWebhookTarget,
  systemResolver,
} from '../src/webhooks/webhooks.target'

const production = { allowPrivateTargets: false }
const development = { allowPrivateTargets: true }

describe('checkWebhookTarget (create time, the literal host)', () => {
  it.each([
    // scheme and shape
    ['http://example.com/hooks', 'scheme_not_allowed'],
    ['ftp://example.com/hooks', 'scheme_not_allowed'],
    ['not a url', 'invalid_url'],
    ['/relative/path', 'invalid_url'],
    [`https://example.com/${'a'.repeat(MAX_TARGET_URL_LENGTH)}`, 'invalid_url'],
    ['https://user:pass@example.com/hooks', 'credentials_in_url'],
    ['https://token@example.com/hooks', 'credentials_in_url'],
    ['https://example.com/hooks#part', 'fragment_in_url'],
    ['https://example.com/hooks#', 'fragment_in_url'],
    ['https://example.com:0/hooks', 'port_not_allowed'],
    // loopback in every spelling the URL parser accepts
    ['https://127.0.0.1/', 'private_address'],
    ['https://2130706433/', 'private_address'],
    ['https://0x7f.1/', 'private_address'],
    ['https://0x7f.0x0.0x0.0x1/', 'private_address'],
    ['https://0177.0.0.1/', 'private_address'],
    ['https://017700000001/', 'private_address'],
    ['https://127.1/', 'private_address'],
    ['https://127.255.255.254/', 'private_address'],
    ['https://%31%32%37.0.0.1/', 'private_address'],
    ['https://[::1]/', 'private_address'],
    ['https://[::ffff:127.0.0.1]/', 'private_address'],
    ['https://[0:0:0:0:0:ffff:7f00:1]/', 'private_address'],
    ['https://[::127.0.0.1]/', 'private_address'],
    // unspecified
    ['https://0.0.0.0/', 'private_address'],
    ['https://0/', 'private_address'],
    ['https://[::]/', 'private_address'],
    // link-local, including the cloud metadata service
    ['https://169.254.169.254/latest/meta-data/', 'private_address'],
    ['https://0xa9fea9fe/', 'private_address'],
    ['https://[::ffff:169.254.169.254]/', 'private_address'],
    ['https://[fe80::1]/', 'private_address'],
    // private, unique-local, carrier-grade NAT
    ['https://10.0.0.1/', 'private_address'],
    ['https://172.16.5.4/', 'private_address'],
    ['https://172.31.255.255/', 'private_address'],
    ['https://192.168.1.1/', 'private_address'],
    ['https://[::ffff:10.1.2.3]/', 'private_address'],
    ['https://[fd00::1]/', 'private_address'],
    ['https://[fc00::1]/', 'private_address'],
    ['https://100.64.0.1/', 'private_address'],
    ['https://100.127.255.254/', 'private_address'],
    // multicast, broadcast, reserved and documentation ranges, transition prefixes that embed IPv4
    ['https://224.0.0.1/', 'private_address'],
    ['https://[ff02::1]/', 'private_address'],
    ['https://255.255.255.255/', 'private_address'],
    ['https://240.0.0.1/', 'private_address'],
    ['https://192.0.2.10/', 'private_address'],
    ['https://198.18.0.1/', 'private_address'],
    ['https://[2001:db8::1]/', 'private_address'],
    ['https://[64:ff9b::7f00:1]/', 'private_address'],
    ['https://[2002:7f00:1::]/', 'private_address'],
    ['https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'private_address'],
    // names that are private by definition
    ['https://localhost/', 'private_name'],
    ['https://LOCALHOST./', 'private_name'],
    ['https://api.localhost/', 'private_name'],
    ['https://printer.local/', 'private_name'],
    ['https://db.internal/', 'private_name'],
    ['https://router.home.arpa/', 'private_name'],
    ['https://intranet/', 'private_name'],
  ])('refuses %s (%s)', (url, reason) => {
    const result = checkWebhookTarget(url, production)
    expect(result).toMatchObject({ ok: false, reason })
    if (!result.ok) expect(result.message.length).toBeGreaterThan(0)
  })

  it.each([
    ['https://example.com/hooks', 'https://example.com/hooks'],
    ['https://Hooks.Example.COM:8443/in?x=1', 'https://hooks.example.com:8443/in?x=1'],
    ['https://hooks.example.com./in', 'https://hooks.example.com./in'],
    ['https://bücher.de/hooks', 'https://xn--bcher-kva.de/hooks'],
    ['https://93.184.215.14/hooks', 'https://93.184.215.14/hooks'],
    ['https://[2606:4700:4700::1111]/hooks', 'https://[2606:4700:4700::1111]/hooks'],
    ['https://[::ffff:8.8.8.8]/hooks', 'https://[::ffff:808:808]/hooks'],
    ['https://100.128.0.1/hooks', 'https://100.128.0.1/hooks'],
    ['https://172.32.0.1/hooks', 'https://172.32.0.1/hooks'],
  ])('accepts %s as %s', (url, href) => {
    const result = checkWebhookTarget(url, production)
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.url.href).toBe(href)
  })

  it('names the range in the refusal, never anything but the host', () => {
    expect(checkWebhookTarget('https://169.254.169.254/', production)).toEqual({
      ok: false,
      reason: 'private_address',
      message: 'must not point to a private, loopback or link-local address (169.254.169.254 is linkLocal)',
    })
    // ipaddr.js calls an IPv4-compatible address unicast: the message says why it is refused.
    expect(checkWebhookTarget('https://[::127.0.0.1]/', production)).toMatchObject({
      message: 'must not point to a private, loopback or link-local address (::7f00:1 is IPv4-compatible (deprecated))',
    })
    // ::1 and :: are in ::/96 too, and keep their own names.
    expect(checkWebhookTarget('https://[::1]/', production)).toMatchObject({
      message: expect.stringContaining('(::1 is loopback)'),
    })
    expect(checkWebhookTarget('https://[::]/', production)).toMatchObject({
      message: expect.stringContaining('(:: is unspecified)'),
    })
  })

  it('allows http:// and private hosts when private targets are allowed, and nothing else more', () => {
    for (const url of ['http://127.0.0.1:3000/hooks', 'https://localhost/', 'http://[::1]:8080/', 'http://intranet/x']) {
      expect(checkWebhookTarget(url, development).ok).toBe(true)
    }
    expect(checkWebhookTarget('ftp://127.0.0.1/', development)).toMatchObject({ ok: false, reason: 'scheme_not_allowed' })
    expect(checkWebhookTarget('http://u:p@127.0.0.1/', development)).toMatchObject({ ok: false, reason: 'credentials_in_url' })
  })
})

describe('isPublicAddress', () => {
  it.each([
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['::ffff:8.8.8.8', true],
    ['127.0.0.1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['169.254.169.254', false],
    ['fd00::1', false],
    ['fe80::1%eth0', false],
    ['100.64.0.1', false],
    ['::7f00:1', false],
    ['not an address', false],
    ['0x7f.1', false],
    ['', false],
  ])('%s → %p', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected)
  })
})

/** A resolver that answers from a table, and counts what it was asked. */
function tableResolver(table: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = []
  const resolver = async (hostname: string) => {
    asked.push(hostname)
    const addresses = table[hostname]
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return Object.assign(resolver, { asked })
}

describe('resolveWebhookTarget (delivery time, after DNS)', () => {
  const resolver = tableResolver({
    'public.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'rebound.example.com': ['127.0.0.1'],
    'mixed.example.com': ['93.184.215.14', '10.0.0.7'],
    'mapped.example.com': ['::ffff:169.254.169.254'],
    'cgnat.example.com': ['100.64.0.1'],
    'empty.example.com': [],
    'garbage.example.com': ['not-an-address'],
  })
  const policy = { ...production, resolver }

  it('answers every address of a public name, to connect to', async () => {
    expect(await resolveWebhookTarget('https://public.example.com/hooks', policy)).toMatchObject({
      ok: true,
      hostname: 'public.example.com',
      addresses: [
        { address: '93.184.215.14', family: 4 },
        { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
      ],
    })
  })

  it.each([
    ['https://rebound.example.com/hooks', 'private_address'],
    ['https://mixed.example.com/hooks', 'private_address'],
    ['https://mapped.example.com/hooks', 'private_address'],
    ['https://cgnat.example.com/hooks', 'private_address'],
    ['https://empty.example.com/hooks', 'unresolvable'],
    ['https://garbage.example.com/hooks', 'unresolvable'],
    ['https://nowhere.example.com/hooks', 'unresolvable'],
  ])('refuses %s (%s)', async (url, reason) => {
    expect(await resolveWebhookTarget(url, policy)).toMatchObject({ ok: false, reason })
  })

  it('says why a name did not resolve without echoing the resolver', async () => {
    expect(await resolveWebhookTarget('https://nowhere.example.com/', policy)).toEqual({
      ok: false,
      reason: 'unresolvable',
      message: 'the host did not resolve (ENOTFOUND)',
    })
  })

  it('checks the literal host again and does not ask DNS for an IP address', async () => {
    const spy = tableResolver({})
    expect(await resolveWebhookTarget('https://0x7f.1/hooks', { ...production, resolver: spy })).toMatchObject({
      ok: false,
      reason: 'private_address',
    })
    expect(await resolveWebhookTarget('https://[2606:4700:4700::1111]/hooks', { ...production, resolver: spy })).toMatchObject({
      ok: true,
      hostname: '2606:4700:4700::1111',
      addresses: [{ address: '2606:4700:4700::1111', family: 6 }],
    })
    expect(spy.asked).toEqual([])
  })

  it('refuses a private name before asking DNS', async () => {
    const spy = tableResolver({ 'localhost.': ['93.184.215.14'] })
    expect(await resolveWebhookTarget('https://localhost./', { ...production, resolver: spy })).toMatchObject({
      ok: false,
      reason: 'private_name',
    })
    expect(spy.asked).toEqual([])
  })

  it('lets a name resolve to loopback when private targets are allowed', async () => {
    expect(await resolveWebhookTarget('http://rebound.example.com:8080/', { ...development, resolver })).toMatchObject({
      ok: true,
      addresses: [{ address: '127.0.0.1', family: 4 }],
    })
  })

  it('uses the platform resolver by default, which knows localhost', async () => {
    const answers = await systemResolver('localhost')
    expect(answers.map((a) => a.address).some((address) => address === '127.0.0.1' || address === '::1')).toBe(true)
    expect(await resolveWebhookTarget('https://localhost/', { ...production, resolver: systemResolver })).toMatchObject({
      ok: false,
    })
  })
})

describe('pinnedLookup', () => {
  const addresses = [
    { address: '93.184.215.14', family: 4 as const },
    { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 as const },
  ]
  const call = (options: { family?: number; all?: boolean }) =>
    new Promise<{ error: Error | null; address: string | LookupAddress[]; family?: number }>((resolve) => {
      pinnedLookup(addresses)('ignored.example.com', options, (error, address, family) => resolve({ error, address, family }))
    })

  it('answers every vetted address when asked for all, and never asks DNS', async () => {
    expect(await call({ all: true })).toEqual({ error: null, address: addresses, family: undefined })
  })

  it('answers the first vetted address of the family asked for', async () => {
    expect(await call({})).toMatchObject({ error: null, address: '93.184.215.14', family: 4 })
    expect(await call({ family: 6 })).toMatchObject({ error: null, address: addresses[1]?.address, family: 6 })
  })

  it('fails when no vetted address has that family', async () => {
    const result = await new Promise<Error | null>((resolve) => {
      pinnedLookup([addresses[0]!])('x', { family: 6 }, (error) => resolve(error))
    })
    expect(result).toMatchObject({ code: 'ENOTFOUND' })
  })
})
