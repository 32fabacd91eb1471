import type { ProblemCode } from '../../src/client'

/**
 * The hostile-input corpus (tests/hostile.test.ts runs it): requests an attacker or a broken client
 * might send, each with the refusal it must get. Every case is also checked to store nothing and to
 * leave the service answering. `{id}` in a path is the id of an existing user. Requests are sent by
 * a caller with users:read and users:write but not users:admin, so privilege escalation shows.
 */
export type HostileCase = {
  name: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: string
  headers?: Record<string, string>
  /** A string is sent as is (so duplicate keys and `__proto__` survive); bytes for invalid UTF-8. */
  body?: string | Uint8Array | (() => ReadableStream<Uint8Array>)
  /** Content-Type; `application/json` when there is a body, unless set to null. */
  contentType?: string | null
  status: number
  code: ProblemCode | ProblemCode[]
  /** The first validation error's pointer must start with this (`body:/username`). */
  pointer?: string
}

const OPERATORS: Record<string, unknown> = {
  $gt: { $gt: '' },
  $ne: { $ne: null },
  $where: { $where: 'sleep(1000) || true' },
  $regex: { $regex: '.*' },
  'dotted key': { 'a.b': 1 },
}

const valid = () => {
  const n = crypto.randomUUID().slice(0, 8)
  return { username: `hostile${n}`, email: `hostile${n}@example.com` }
}
const createBody = (fields: Record<string, unknown>) => JSON.stringify({ ...valid(), ...fields })
const USER_FIELDS = ['username', 'email', 'displayName', 'password', 'metadata', 'role', 'status']
const QUERY_PARAMETERS = ['role', 'status', 'q', 'sort', 'limit', 'cursor', 'includeTotal']

/** `{"metadata": {"a": {"a": ... 1 ...}}}` nested `levels` deep, built as text (no recursion). */
const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
const deepArray = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`
const TEN_MB = 10 * 1024 * 1024
const tenMegabytes = () => createBody({ displayName: 'x'.repeat(TEN_MB) })
/** 10 MB in 64 KiB chunks with no Content-Length: the limit must hold while streaming too. */
const tenMegabyteStream = () => {
  const chunk = new TextEncoder().encode(`{"displayName":"${'x'.repeat(65_536)}`)
  let sent = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= TEN_MB) return controller.close()
      controller.enqueue(chunk)
      sent += chunk.length
    },
  })
}
/** A JSON body with raw bytes spliced in where `@@` stands. */
const withBytes = (json: string, bytes: number[]) => {
  const [before = '', after = ''] = json.split('@@')
  const encoder = new TextEncoder()
  return new Uint8Array([...encoder.encode(before), ...bytes, ...encoder.encode(after)])
}
const enc = encodeURIComponent

export const corpus: HostileCase[] = [
  // --- operator injection: every body field, every query and path parameter -------------------
  ...USER_FIELDS.flatMap((field) =>
    Object.entries(OPERATORS).map(
      ([label, value]): HostileCase => ({
        name: `POST /v1/users with ${label} in ${field}`,
        method: 'POST',
        path: '/v1/users',
        body: createBody({ [field]: value }),
        status: 400,
        code: 'validation_failed',
        pointer: `body:/${field}`,
      }),
    ),
  ),
  ...USER_FIELDS.flatMap((field) =>
    Object.entries(OPERATORS).map(
      ([label, value]): HostileCase => ({
        name: `PATCH /v1/users/{id} with ${label} in ${field}`,
        method: 'PATCH',
        path: '/v1/users/{id}',
        body: JSON.stringify({ [field]: value }),
        status: 400,
        code: 'validation_failed',
        pointer: `body:/${field}`,
      }),
    ),
  ),
  ...['login', 'password'].flatMap((field) =>
    Object.entries(OPERATORS).map(
      ([label, value]): HostileCase => ({
        name: `POST /v1/auth/verify with ${label} in ${field}`,
        method: 'POST',
        path: '/v1/auth/verify',
        body: JSON.stringify({ login: 'alice', password: 'correct horse battery', [field]: value }),
        status: 400,
        code: 'validation_failed',
        pointer: `body:/${field}`,
      }),
    ),
  ),
  ...QUERY_PARAMETERS.flatMap((name): HostileCase[] => [
    {
      name: `GET /v1/users with ${name}[$ne]= (bracket operator syntax)`,
      method: 'GET',
      path: `/v1/users?${name}[$ne]=x`,
      status: 400,
      code: 'validation_failed',
      pointer: `query:/${name}[$ne]`,
    },
    {
      name: `GET /v1/users with ${name}={"$gt":""} (operator as JSON text)`,
      method: 'GET',
      path: `/v1/users?${name}=${enc('{"$gt":""}')}`,
      status: 400,
      code: 'validation_failed',
      pointer: `query:/${name}`,
    },
  ]),
  ...[
    ['/v1/users/', 'id'],
    ['/v1/users/by-username/', 'username'],
    ['/v1/users/by-email/', 'email'],
  ].map(
    ([prefix, name]): HostileCase => ({
      name: `GET ${prefix}{${name}} with {"$gt":""} as the ${name}`,
      method: 'GET',
      path: `${prefix}${enc('{"$gt":""}')}`,
      status: 400,
      code: 'validation_failed',
      pointer: `path:/${name}`,
    }),
  ),
  {
    name: 'PATCH with a dotted top-level key (metadata.plan)',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: '{"metadata.plan":"x"}',
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/metadata.plan',
  },
  {
    name: 'PATCH with $set as a top-level key',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: '{"$set":{"role":"admin"}}',
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/$set',
  },

  // --- prototype pollution ---------------------------------------------------------------------
  {
    name: 'POST with a top-level __proto__ granting admin',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"__proto__":{"role":"admin"}}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/__proto__',
  },
  {
    name: 'POST with constructor.prototype granting admin',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ constructor: { prototype: { role: 'admin' } } }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/constructor',
  },
  {
    name: 'POST with __proto__ inside metadata',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"metadata":{"__proto__":{"polluted":true}}}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/metadata/__proto__',
  },
  {
    name: 'POST with constructor.prototype inside metadata',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ metadata: { constructor: { prototype: { polluted: true } } } }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/metadata/constructor',
  },
  {
    name: 'PATCH with a top-level __proto__',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: '{"__proto__":{"role":"admin"}}',
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/__proto__',
  },
  {
    name: 'PATCH with __proto__ nested in metadata',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: '{"metadata":{"prefs":{"__proto__":{"polluted":true}}}}',
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/metadata/prefs/__proto__',
  },
  {
    name: 'POST /v1/auth/verify with __proto__',
    method: 'POST',
    path: '/v1/auth/verify',
    body: '{"login":"a","password":"b","__proto__":{"x":1}}',
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/__proto__',
  },

  // --- deeply nested JSON ------------------------------------------------------------------------
  {
    name: 'POST with metadata nested 10,000 objects deep',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"metadata":${deepObject(10_000)}}`,
    status: 400,
    code: ['validation_failed', 'malformed_json'],
  },
  {
    name: 'POST with metadata holding arrays nested 10,000 deep',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"metadata":{"a":${deepArray(10_000)}}}`,
    status: 400,
    code: ['validation_failed', 'malformed_json'],
  },
  {
    name: 'POST with a body that is an array nested 10,000 deep',
    method: 'POST',
    path: '/v1/users',
    body: deepArray(10_000),
    status: 400,
    code: ['validation_failed', 'malformed_json'],
  },
  {
    name: 'PATCH with metadata nested 10,000 objects deep',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: `{"metadata":${deepObject(10_000)}}`,
    status: 400,
    code: ['validation_failed', 'malformed_json'],
  },
  {
    name: 'POST /v1/auth/verify with a login nested 10,000 deep',
    method: 'POST',
    path: '/v1/auth/verify',
    body: `{"password":"x","login":${deepObject(10_000)}}`,
    status: 400,
    code: ['validation_failed', 'malformed_json'],
  },

  // --- 10 MB bodies ------------------------------------------------------------------------------
  {
    name: 'POST a 10 MB body with Content-Length',
    method: 'POST',
    path: '/v1/users',
    body: tenMegabytes(),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'POST a 10 MB body streamed without Content-Length',
    method: 'POST',
    path: '/v1/users',
    body: tenMegabyteStream,
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'PATCH a 10 MB body',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: JSON.stringify({ displayName: 'x'.repeat(TEN_MB) }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'POST /v1/auth/verify a 10 MB password',
    method: 'POST',
    path: '/v1/auth/verify',
    body: JSON.stringify({ login: 'a', password: 'x'.repeat(TEN_MB) }),
    status: 413,
    code: 'payload_too_large',
  },

  // --- invalid UTF-8 -----------------------------------------------------------------------------
  {
    name: 'POST with a 0xFF byte in the username',
    method: 'POST',
    path: '/v1/users',
    body: withBytes(createBody({ username: 'ab@@cd' }), [0xff]),
    status: 400,
    code: ['malformed_json', 'validation_failed'],
  },
  {
    name: 'POST with a broken 2-byte sequence in displayName',
    method: 'POST',
    path: '/v1/users',
    body: withBytes(createBody({ displayName: 'ab@@cd' }), [0xc3, 0x28]),
    status: 400,
    code: 'malformed_json',
  },
  {
    name: 'POST with an overlong encoding of "/" in displayName',
    method: 'POST',
    path: '/v1/users',
    body: withBytes(createBody({ displayName: 'ab@@cd' }), [0xc0, 0xaf]),
    status: 400,
    code: 'malformed_json',
  },
  {
    name: 'POST with a CESU-8 surrogate in a metadata string',
    method: 'POST',
    path: '/v1/users',
    body: withBytes(createBody({ metadata: { note: 'ab@@cd' } }), [0xed, 0xa0, 0x80]),
    status: 400,
    code: 'malformed_json',
  },
  {
    name: 'PATCH with a truncated 3-byte sequence in displayName',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: withBytes('{"displayName":"ab@@"}', [0xe2, 0x82]),
    status: 400,
    code: 'malformed_json',
  },
  {
    name: 'POST /v1/auth/verify with a 0xFE byte in the password',
    method: 'POST',
    path: '/v1/auth/verify',
    body: withBytes('{"login":"alice","password":"correct@@horse"}', [0xfe]),
    status: 400,
    code: 'malformed_json',
  },

  // --- NUL bytes ---------------------------------------------------------------------------------
  {
    name: 'POST with NUL in the username',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ username: 'ali\u0000ce' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'POST with NUL in the email',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ email: 'alice\u0000@example.com' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/email',
  },
  {
    name: 'POST with NUL in displayName',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ displayName: 'Alice\u0000' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/displayName',
  },
  {
    name: 'POST with NUL in a metadata key',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ metadata: { 'a\u0000b': 1 } }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/metadata/a',
  },
  {
    name: 'GET /v1/users with NUL in q',
    method: 'GET',
    path: '/v1/users?q=ali%00',
    status: 400,
    code: 'validation_failed',
    pointer: 'query:/q',
  },
  {
    name: 'GET by-username with NUL in the username',
    method: 'GET',
    path: '/v1/users/by-username/ali%00ce',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/username',
  },
  {
    name: 'GET by id with NUL after the id',
    method: 'GET',
    path: '/v1/users/{id}%00',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/id',
  },
  {
    name: 'POST /v1/auth/verify with NUL in the login',
    method: 'POST',
    path: '/v1/auth/verify',
    body: '{"login":"alice\\u0000","password":"correct horse battery"}',
    status: 401,
    code: 'invalid_credentials',
  },

  // --- overlong strings --------------------------------------------------------------------------
  {
    name: 'POST with a 33-character username',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ username: 'a'.repeat(33) }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'POST with a 60,000-character username',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ username: 'a'.repeat(60_000) }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'POST with a 255-character email',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ email: `${'a'.repeat(243)}@example.com` }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/email',
  },
  {
    name: 'POST with a 101-character displayName',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ displayName: 'x'.repeat(101) }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/displayName',
  },
  {
    name: 'POST with a 129-character password',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ password: 'p'.repeat(129) }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/password',
  },
  {
    name: 'POST with 20 KiB of metadata',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ metadata: { blob: 'x'.repeat(20_000) } }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/metadata',
  },
  {
    name: 'GET /v1/users with a 255-character q',
    method: 'GET',
    path: `/v1/users?q=${'a'.repeat(255)}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'query:/q',
  },
  {
    name: 'GET /v1/users with a 1,025-character cursor',
    method: 'GET',
    path: `/v1/users?cursor=${'a'.repeat(1025)}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'query:/cursor',
  },
  {
    name: 'GET by-username with a 10,000-character username',
    method: 'GET',
    path: `/v1/users/by-username/${'a'.repeat(10_000)}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/username',
  },
  {
    name: 'POST /v1/auth/verify with a 255-character login',
    method: 'POST',
    path: '/v1/auth/verify',
    body: JSON.stringify({ login: 'a'.repeat(255), password: 'x' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/login',
  },
  {
    name: 'POST with a 256-character Idempotency-Key',
    method: 'POST',
    path: '/v1/users',
    headers: { 'idempotency-key': 'k'.repeat(256) },
    body: createBody({}),
    status: 400,
    code: 'validation_failed',
    pointer: 'header:/idempotency-key',
  },
  {
    name: 'PATCH with a 1,025-character If-Match',
    method: 'PATCH',
    path: '/v1/users/{id}',
    headers: { 'if-match': `"${'1'.repeat(1023)}"` },
    body: '{"displayName":"x"}',
    status: 400,
    code: 'validation_failed',
    pointer: 'header:/if-match',
  },

  // --- confusable Unicode usernames ----------------------------------------------------------------
  {
    name: 'POST with a Cyrillic а (U+0430) in the username',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ username: '\u0430lice' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'POST with a fullwidth username',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ username: '\uff41\uff4c\uff49\uff43\uff45' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'POST with a zero-width joiner in the username',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ username: 'ali\u200dce' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'POST with a right-to-left override in the username',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ username: '\u202eecila' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'POST with a combining accent in the username',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ username: 'alice\u0301x' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'POST with a right-to-left override in displayName',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ displayName: 'admin\u202egnp.exe' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/displayName',
  },
  {
    name: 'POST with a Cyrillic а in the email domain',
    method: 'POST',
    path: '/v1/users',
    body: createBody({ email: 'alice@ex\u0430mple.com' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/email',
  },
  {
    name: 'PATCH the username to a Cyrillic look-alike',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: JSON.stringify({ username: 'vict\u0456m' }),
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'GET by-username with a Cyrillic look-alike',
    method: 'GET',
    path: `/v1/users/by-username/${enc('vict\u0456m')}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/username',
  },

  // --- wrong or missing content types ------------------------------------------------------------
  {
    name: 'POST JSON as text/plain',
    method: 'POST',
    path: '/v1/users',
    body: createBody({}),
    contentType: 'text/plain',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'POST JSON without a Content-Type',
    method: 'POST',
    path: '/v1/users',
    body: createBody({}),
    contentType: null,
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'POST a form (application/x-www-form-urlencoded)',
    method: 'POST',
    path: '/v1/users',
    body: 'username=alice&email=alice%40example.com',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'POST multipart/form-data',
    method: 'POST',
    path: '/v1/users',
    body: '--b\r\nContent-Disposition: form-data; name="username"\r\n\r\nalice\r\n--b--\r\n',
    contentType: 'multipart/form-data; boundary=b',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'POST with application/jsonx',
    method: 'POST',
    path: '/v1/users',
    body: createBody({}),
    contentType: 'application/jsonx',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'PATCH as application/json-patch+json',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: '[{"op":"replace","path":"/role","value":"admin"}]',
    contentType: 'application/json-patch+json',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'PATCH a merge patch labelled application/json-patch+json',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: '{"displayName":"x"}',
    contentType: 'application/json-patch+json',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'POST with a made-up +json media type',
    method: 'POST',
    path: '/v1/users',
    body: createBody({}),
    contentType: 'application/vnd.evil+json',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'POST a merge patch media type to create',
    method: 'POST',
    path: '/v1/users',
    body: createBody({}),
    contentType: 'application/merge-patch+json',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'POST /v1/auth/verify as text/plain',
    method: 'POST',
    path: '/v1/auth/verify',
    body: '{"login":"a","password":"b"}',
    contentType: 'text/plain',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'POST a form body labelled application/json',
    method: 'POST',
    path: '/v1/users',
    body: 'username=alice',
    status: 400,
    code: 'malformed_json',
  },
  {
    name: 'POST an empty body labelled application/json',
    method: 'POST',
    path: '/v1/users',
    body: '',
    status: 400,
    code: 'malformed_json',
  },

  // --- duplicate keys: the last one wins, and it is what gets validated and authorized ------------
  {
    name: 'POST {"role":"user","role":"admin"} from a non-admin',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"role":"user","role":"admin"}`,
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'POST {"status":"active","status":"disabled"} from a non-admin',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"status":"active","status":"disabled"}`,
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'PATCH {"displayName":"x","role":"user","role":"admin"} from a non-admin',
    method: 'PATCH',
    path: '/v1/users/{id}',
    body: '{"displayName":"x","role":"user","role":"admin"}',
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'POST with a valid username then an operator under the same key',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"username":{"$gt":""}}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'POST with a long password then a short one under the same key',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"password":"long enough 123","password":"short"}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/password',
  },

  // --- huge numbers --------------------------------------------------------------------------------
  ...['1e400', '18446744073709551616', '-1', '0', '1.5', 'NaN', 'Infinity', '101'].map(
    (limit): HostileCase => ({
      name: `GET /v1/users?limit=${limit}`,
      method: 'GET',
      path: `/v1/users?limit=${limit}`,
      status: 400,
      code: 'validation_failed',
      pointer: 'query:/limit',
    }),
  ),
  {
    name: 'POST with 1e400 (Infinity once parsed) in metadata',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"metadata":{"n":1e400}}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/metadata/n',
  },
  {
    name: 'POST with -1e400 in metadata',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"metadata":{"n":[-1e400]}}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/metadata/n',
  },
  {
    name: 'POST with 1e400 as the username',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"username":1e400}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/username',
  },
  {
    name: 'POST setting version to 2^64',
    method: 'POST',
    path: '/v1/users',
    body: `${createBody({}).slice(0, -1)},"version":18446744073709551616}`,
    status: 400,
    code: 'validation_failed',
    pointer: 'body:/version',
  },
  {
    name: 'PATCH with If-Match "2^64" (well-formed, never a version)',
    method: 'PATCH',
    path: '/v1/users/{id}',
    headers: { 'if-match': '"18446744073709551616"' },
    body: '{"displayName":"x"}',
    status: 412,
    code: 'precondition_failed',
  },
  {
    name: 'DELETE with If-Match "1e400"',
    method: 'DELETE',
    path: '/v1/users/{id}',
    headers: { 'if-match': '"1e400"' },
    status: 412,
    code: 'precondition_failed',
  },

  // --- path traversal, encoded slashes, NUL in path parameters --------------------------------------
  {
    name: 'GET /v1/users/..%2F..%2Fadmin',
    method: 'GET',
    path: '/v1/users/..%2F..%2Fadmin',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/id',
  },
  {
    name: 'GET /v1/users/%2e%2e (dot-segments, normalized away by the URL parser)',
    method: 'GET',
    path: '/v1/users/%2e%2e/%2e%2e/etc/passwd',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'GET by-username with ..%2f..%2fetc%2fpasswd',
    method: 'GET',
    path: '/v1/users/by-username/..%2f..%2fetc%2fpasswd',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/username',
  },
  {
    name: 'GET by-email with an encoded slash',
    method: 'GET',
    path: '/v1/users/by-email/a%2F..%2Fb@example.com',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/email',
  },
  {
    name: 'DELETE /v1/users/{id}%2F..%2F{id}',
    method: 'DELETE',
    path: '/v1/users/{id}%2F..%2F{id}',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/id',
  },
  {
    name: 'PATCH /v1/users/%2e%2e%2f{id}',
    method: 'PATCH',
    path: '/v1/users/%2e%2e%2f{id}',
    body: '{"displayName":"x"}',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/id',
  },
  {
    name: 'GET by-username with percent-encoded invalid UTF-8 (%ff)',
    method: 'GET',
    path: '/v1/users/by-username/al%ffice',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/username',
  },
  {
    name: 'GET by id with a broken percent escape (%ZZ)',
    method: 'GET',
    path: '/v1/users/%ZZ',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/id',
  },
  {
    name: 'GET by id with encoded backslashes',
    method: 'GET',
    path: '/v1/users/{id}%5C..%5C',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/id',
  },
  {
    name: 'DELETE by id with NUL inside the id',
    method: 'DELETE',
    path: '/v1/users/0123456789ab%00cdef0123456',
    status: 400,
    code: 'validation_failed',
    pointer: 'path:/id',
  },
]
