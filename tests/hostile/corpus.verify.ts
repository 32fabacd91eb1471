// Hostile-input corpus, part: the end user's address that POST /v1/auth/verify takes (`ip`).
import { type HostileCase, invalid, VERIFY } from './corpus.builders'

/** A verify body with `ip` set to `value` (any JSON). */
const withIp = (value: unknown) => JSON.stringify({ login: 'victim', password: 'correct horse battery', ip: value })

const badAddresses: [string, unknown][] = [
  ['a 60 KB ip', '1:'.repeat(30_000)],
  ['an ip of 10,000 dots', '.'.repeat(10_000)],
  ['SQL in ip', "203.0.113.7' OR '1'='1"],
  ['a log line in ip', '203.0.113.7\n{"level":50,"msg":"forged"}'],
  ['NUL in ip', '203.0.113.7\u0000'],
  ['an IPv4 octet over 255', '256.0.0.1'],
  ['a mapped IPv4 octet over 255', '::ffff:999.0.0.1'],
  ['Arabic-Indic digits in ip', '\u0661\u0669\u0662.\u0661\u0666\u0668.\u0660.\u0661'],
  ['fullwidth digits in ip', '\uff11\uff12\uff17.0.0.1'],
  ['a hex IPv4 in ip', '0x7f.0.0.1'],
  ['a short IPv4 in ip', '127.1'],
  ['an IPv6 with nine groups', '1:2:3:4:5:6:7:8:9'],
  ['an IPv6 with two ::', '2001::db8::1'],
  ['an IPv6 zone in ip', 'fe80::1%25eth0'],
  ['a URL in ip', 'http://203.0.113.7/'],
  ['a host name in ip', 'localhost'],
  ['a list in ip', ['203.0.113.7']],
  ['null in ip', null],
  ['true in ip', true],
  ['a number in ip', 2130706433],
  ['an object in ip', { v4: '203.0.113.7' }],
  ['an operator in ip', { $ne: null }],
]

export const verifyAddress: HostileCase[] = badAddresses.map(([label, value]) =>
  invalid(`POST /v1/auth/verify with ${label}`, 'POST', VERIFY, withIp(value), 'body:/ip'),
)
