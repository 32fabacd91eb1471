// Hostile-input corpus, part: encoding and size: nesting, 10 MB bodies, invalid UTF-8, NUL bytes, overlong strings, confusables.
import type { ProblemCode } from '../../src/client'
import {
  create,
  createWith,
  deepArray,
  deepObject,
  enc,
  type HostileCase,
  ID,
  invalid,
  refused,
  TEN_MB,
  tenMegabyteStream,
  USERS,
  VERIFY,
  withBytes,
} from './corpus.builders'

const PARSE_OR_SCHEMA: ProblemCode[] = ['validation_failed', 'malformed_json']
const sizeAndDepth: HostileCase[] = [
  refused(
    'POST with metadata nested 10,000 objects deep',
    'POST',
    USERS,
    createWith(`"metadata":${deepObject(10_000)}`),
    400,
    PARSE_OR_SCHEMA,
  ),
  refused(
    'POST with metadata holding arrays nested 10,000 deep',
    'POST',
    USERS,
    createWith(`"metadata":{"a":${deepArray(10_000)}}`),
    400,
    PARSE_OR_SCHEMA,
  ),
  refused('POST with a body that is an array nested 10,000 deep', 'POST', USERS, deepArray(10_000), 400, PARSE_OR_SCHEMA),
  refused(
    'PATCH with metadata nested 10,000 objects deep',
    'PATCH',
    ID,
    `{"metadata":${deepObject(10_000)}}`,
    400,
    PARSE_OR_SCHEMA,
  ),
  refused(
    'POST /v1/auth/verify with a login nested 10,000 deep',
    'POST',
    VERIFY,
    `{"password":"x","login":${deepObject(10_000)}}`,
    400,
    PARSE_OR_SCHEMA,
  ),
  refused(
    'POST a 10 MB body with Content-Length',
    'POST',
    USERS,
    create({ displayName: 'x'.repeat(TEN_MB) }),
    413,
    'payload_too_large',
  ),
  refused('POST a 10 MB body streamed without Content-Length', 'POST', USERS, tenMegabyteStream, 413, 'payload_too_large'),
  refused('PATCH a 10 MB body', 'PATCH', ID, JSON.stringify({ displayName: 'x'.repeat(TEN_MB) }), 413, 'payload_too_large'),
  refused(
    'POST /v1/auth/verify a 10 MB password',
    'POST',
    VERIFY,
    JSON.stringify({ login: 'a', password: 'x'.repeat(TEN_MB) }),
    413,
    'payload_too_large',
  ),
]

const encoding: HostileCase[] = [
  // Invalid UTF-8 must not be decoded into U+FFFD and stored.
  refused(
    'POST with a 0xFF byte in the username',
    'POST',
    USERS,
    withBytes(create({ username: 'ab@@cd' }), [0xff]),
    400,
    'malformed_json',
  ),
  refused(
    'POST with a broken 2-byte sequence in displayName',
    'POST',
    USERS,
    withBytes(create({ displayName: 'ab@@cd' }), [0xc3, 0x28]),
    400,
    'malformed_json',
  ),
  refused(
    'POST with an overlong encoding of "/" in displayName',
    'POST',
    USERS,
    withBytes(create({ displayName: 'a@@' }), [0xc0, 0xaf]),
    400,
    'malformed_json',
  ),
  refused(
    'POST with a CESU-8 surrogate in metadata',
    'POST',
    USERS,
    withBytes(create({ metadata: { n: 'a@@' } }), [0xed, 0xa0, 0x80]),
    400,
    'malformed_json',
  ),
  refused(
    'PATCH with a truncated 3-byte sequence in displayName',
    'PATCH',
    ID,
    withBytes('{"displayName":"ab@@"}', [0xe2, 0x82]),
    400,
    'malformed_json',
  ),
  refused(
    'POST /v1/auth/verify with a 0xFE byte in the password',
    'POST',
    VERIFY,
    withBytes('{"login":"a","password":"b@@c"}', [0xfe]),
    400,
    'malformed_json',
  ),
  // NUL bytes.
  invalid('POST with NUL in the username', 'POST', USERS, create({ username: 'ali\u0000ce' }), 'body:/username'),
  invalid('POST with NUL in the email', 'POST', USERS, create({ email: 'alice\u0000@example.com' }), 'body:/email'),
  invalid('POST with NUL in displayName', 'POST', USERS, create({ displayName: 'Alice\u0000' }), 'body:/displayName'),
  invalid('POST with NUL in a metadata key', 'POST', USERS, create({ metadata: { 'a\u0000b': 1 } }), 'body:/metadata/a'),
  invalid('GET /v1/users with NUL in q', 'GET', `${USERS}?q=ali%00`, undefined, 'query:/q'),
  invalid('GET by-username with NUL in the username', 'GET', '/v1/users/by-username/ali%00ce', undefined, 'path:/username'),
  invalid('GET by id with NUL after the id', 'GET', `${ID}%00`, undefined, 'path:/id'),
  invalid('DELETE by id with NUL inside the id', 'DELETE', '/v1/users/0123456789ab%00cdef0123456', undefined, 'path:/id'),
  // A login is any string; one with a NUL simply matches nobody.
  refused(
    'POST /v1/auth/verify with NUL in the login',
    'POST',
    VERIFY,
    '{"login":"victim\\u0000","password":"correct horse battery"}',
    401,
    'invalid_credentials',
  ),
]

const overlong: HostileCase[] = [
  invalid('POST with a 255-character username', 'POST', USERS, create({ username: 'a'.repeat(255) }), 'body:/username'),
  invalid('POST with a 60,000-character username', 'POST', USERS, create({ username: 'a'.repeat(60_000) }), 'body:/username'),
  invalid('POST with a 255-character email', 'POST', USERS, create({ email: `${'a'.repeat(243)}@example.com` }), 'body:/email'),
  invalid('POST with a 101-character displayName', 'POST', USERS, create({ displayName: 'x'.repeat(101) }), 'body:/displayName'),
  invalid('POST with a 129-character password', 'POST', USERS, create({ password: 'p'.repeat(129) }), 'body:/password'),
  invalid('POST with 20 KiB of metadata', 'POST', USERS, create({ metadata: { blob: 'x'.repeat(20_000) } }), 'body:/metadata'),
  invalid('GET /v1/users with a 255-character q', 'GET', `${USERS}?q=${'a'.repeat(255)}`, undefined, 'query:/q'),
  invalid(
    'GET /v1/users with a 1,025-character cursor',
    'GET',
    `${USERS}?cursor=${'a'.repeat(1025)}`,
    undefined,
    'query:/cursor',
  ),
  invalid(
    'GET by-username with a 10,000-character username',
    'GET',
    `/v1/users/by-username/${'a'.repeat(10_000)}`,
    undefined,
    'path:/username',
  ),
  invalid(
    'POST /v1/auth/verify with a 255-character login',
    'POST',
    VERIFY,
    JSON.stringify({ login: 'a'.repeat(255), password: 'x' }),
    'body:/login',
  ),
  invalid('POST with a 256-character Idempotency-Key', 'POST', USERS, create(), 'header:/idempotency-key', {
    headers: { 'idempotency-key': 'k'.repeat(256) },
  }),
  invalid('PATCH with a 1,025-character If-Match', 'PATCH', ID, '{"displayName":"x"}', 'header:/if-match', {
    headers: { 'if-match': `"${'1'.repeat(1023)}"` },
  }),
]

const confusables: HostileCase[] = [
  invalid('POST with a Cyrillic а (U+0430) in the username', 'POST', USERS, create({ username: '\u0430lice' }), 'body:/username'),
  invalid(
    'POST with a fullwidth username',
    'POST',
    USERS,
    create({ username: '\uff41\uff4c\uff49\uff43\uff45' }),
    'body:/username',
  ),
  invalid('POST with a zero-width joiner in the username', 'POST', USERS, create({ username: 'ali\u200dce' }), 'body:/username'),
  invalid(
    'POST with a right-to-left override in the username',
    'POST',
    USERS,
    create({ username: '\u202eecila' }),
    'body:/username',
  ),
  invalid('POST with a combining accent in the username', 'POST', USERS, create({ username: 'alice\u0301x' }), 'body:/username'),
  invalid(
    'POST with a right-to-left override in displayName',
    'POST',
    USERS,
    create({ displayName: 'admin\u202egnp.exe' }),
    'body:/displayName',
  ),
  invalid(
    'POST with a Cyrillic а in the email domain',
    'POST',
    USERS,
    create({ email: 'alice@ex\u0430mple.com' }),
    'body:/email',
  ),
  invalid(
    'PATCH the username to a Cyrillic look-alike',
    'PATCH',
    ID,
    JSON.stringify({ username: 'vict\u0456m' }),
    'body:/username',
  ),
  invalid(
    'GET by-username with a Cyrillic look-alike',
    'GET',
    `/v1/users/by-username/${enc('vict\u0456m')}`,
    undefined,
    'path:/username',
  ),
  refused('POST with the existing username in capitals', 'POST', USERS, create({ username: 'VICTIM' }), 409, 'username_taken'),
]

export const encodingAndSize = [...sizeAndDepth, ...encoding, ...overlong, ...confusables]
