// Hostile-input corpus, part: /scim/v2 (issue 17). Its own shape: SCIM answers with SCIM Error
// bodies (a status and a scimType), not problem+json. tests/hostile.scim.test.ts runs it.
import { deepArray, deepObject, enc, OPERATORS, TEN_MB, tenMegabyteStream } from './corpus.builders'

export type ScimHostileCase = {
  name: string
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Under /scim/v2; `{id}` is the id of an existing user. */
  path: string
  headers?: Record<string, string>
  body?: string | (() => ReadableStream<Uint8Array>)
  /** Content-Type; application/scim+json when there is a body, unless set to null. */
  contentType?: string | null
  status: number
  /** The scimType the answer must carry (one of them, where which layer refuses is not the point); none when absent. */
  scimType?: string | string[]
}

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User'
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const USER = '/Users/{id}'

const fresh = () => {
  const n = crypto.randomUUID().slice(0, 8)
  return { schemas: [CORE], userName: `hostile.scim.${n}`, emails: [{ value: `hostile.scim.${n}@example.com`, primary: true }] }
}
/** A valid SCIM create body plus `fields`. */
const create = (fields: Record<string, unknown> = {}) => JSON.stringify({ ...fresh(), ...fields })
/** A valid create body with raw JSON text appended (`__proto__`, deep nesting survive as sent). */
const createWith = (json: string) => `${create().slice(0, -1)},${json}}`
/** A PatchOp message of these operations. */
const patchOf = (...operations: unknown[]) => JSON.stringify({ schemas: [PATCH_OP], Operations: operations })
const refused = (
  name: string,
  method: ScimHostileCase['method'],
  path: string,
  body: ScimHostileCase['body'],
  status: number,
  scimType?: string | string[],
  extra: Pick<ScimHostileCase, 'headers' | 'contentType'> = {},
): ScimHostileCase => ({ name, method, path, body, status, ...(scimType ? { scimType } : {}), ...extra })
const filter = (name: string, text: string): ScimHostileCase =>
  refused(`GET /Users with ${name}`, 'GET', `/Users?filter=${enc(text)}`, undefined, 400, 'invalidFilter')

/** Operators and `$` keys in values: every one refused as a value of the wrong type, nothing reaching the database. */
const operators: ScimHostileCase[] = Object.entries(OPERATORS).flatMap(([label, operator]) => [
  refused(`POST with userName ${label}`, 'POST', '/Users', create({ userName: operator }), 400, 'invalidValue'),
  refused(`POST with emails.value ${label}`, 'POST', '/Users', create({ emails: [{ value: operator }] }), 400, 'invalidValue'),
  refused(`POST with externalId ${label}`, 'POST', '/Users', create({ externalId: operator }), 400, 'invalidValue'),
  refused(
    `PATCH displayName to ${label}`,
    'PATCH',
    USER,
    patchOf({ op: 'replace', path: 'displayName', value: operator }),
    400,
    'invalidValue',
  ),
  refused(`PUT with name.givenName ${label}`, 'PUT', USER, create({ name: { givenName: operator } }), 400, 'invalidValue'),
])

const injection: ScimHostileCase[] = [
  ...operators,
  refused('POST with a top-level $set key', 'POST', '/Users', create({ $set: { role: 'admin' } }), 400, 'invalidSyntax'),
  refused('POST with a __proto__ key', 'POST', '/Users', createWith('"__proto__":{"role":"admin"}'), 400, 'invalidSyntax'),
  refused('POST with a dotted key', 'POST', '/Users', create({ 'role.x': 'admin' }), 400, 'invalidSyntax'),
  refused('POST with a $ sub-attribute of name', 'POST', '/Users', create({ name: { $gt: '' } }), 400, 'invalidValue'),
  refused(
    'PATCH value-only with a $set key',
    'PATCH',
    USER,
    patchOf({ op: 'replace', value: { $set: { role: 'admin' } } }),
    400,
    'invalidPath',
  ),
  refused('PATCH with path $where', 'PATCH', USER, patchOf({ op: 'replace', path: '$where', value: '1' }), 400, 'invalidPath'),
  filter('an always-true term injected: userName eq "a" or 1 eq 1', 'userName eq "a" or 1 eq 1'),
  filter('a closing parenthesis injected', 'userName eq "a") or (1 eq 1'),
  filter('an operator object as the value', 'userName eq {"$ne": null}'),
  filter('a $where attribute', '$where eq "sleep(1000)"'),
  filter('a statement appended', 'userName eq "a"; db.users.drop()'),
  filter('a comparison on the stored role', 'role eq "admin"'),
  filter('a regular expression as the value', 'userName eq /.*/'),
  refused(
    'PATCH with a filter injected in the path',
    'PATCH',
    USER,
    patchOf({ op: 'replace', path: 'emails[value eq "x" or 1 eq 1].value', value: 'a@b.co' }),
    400,
    ['invalidPath', 'invalidFilter'],
  ),
]

/** Ids that try to leave /Users/{id}: never a path, always "no such user". */
const traversal: ScimHostileCase[] = [
  '..%2F..%2Fv1%2Fusers',
  '%2e%2e',
  '..%5C..%5Cadmin',
  '{id}%2F..%2F..%2FSchemas',
  '%00',
  `${'a'.repeat(24)}%0d%0aX-Injected:%201`,
].flatMap((id) => [
  refused(`GET /Users/${id}`, 'GET', `/Users/${id}`, undefined, 404),
  refused(`DELETE /Users/${id}`, 'DELETE', `/Users/${id}`, undefined, 404),
  refused(`PATCH /Users/${id}`, 'PATCH', `/Users/${id}`, patchOf({ op: 'replace', path: 'displayName', value: 'x' }), 404),
])

const size: ScimHostileCase[] = [
  refused('POST a 10 MB body', 'POST', '/Users', create({ displayName: 'x'.repeat(TEN_MB) }), 413),
  refused('POST a 10 MB body streamed without Content-Length', 'POST', '/Users', tenMegabyteStream, 413),
  refused('PUT a 10 MB body', 'PUT', USER, create({ displayName: 'x'.repeat(TEN_MB) }), 413),
  refused('PATCH a 10 MB body', 'PATCH', USER, patchOf({ op: 'replace', path: 'displayName', value: 'x'.repeat(TEN_MB) }), 413),
  refused('POST a body nested 10,000 objects deep', 'POST', '/Users', deepObject(10_000), 400, ['invalidSyntax', 'invalidValue']),
  refused('POST a body that is an array nested 10,000 deep', 'POST', '/Users', deepArray(10_000), 400, 'invalidSyntax'),
  refused('POST with name nested 10,000 deep', 'POST', '/Users', createWith(`"name":${deepObject(10_000)}`), 400, 'invalidValue'),
  refused(
    'POST with a userName of 10,000 characters',
    'POST',
    '/Users',
    create({ userName: 'a'.repeat(10_000) }),
    400,
    'invalidValue',
  ),
  refused('POST with a NUL in userName', 'POST', '/Users', create({ userName: 'nul\u0000name' }), 400, 'invalidValue'),
  refused(
    'POST with CRLF in the email',
    'POST',
    '/Users',
    create({ emails: [{ value: 'a@b.co\r\nBcc: x@y.z' }] }),
    400,
    'invalidValue',
  ),
  refused(
    'GET /Users with a filter of 100,000 characters',
    'GET',
    `/Users?filter=${'a'.repeat(100_000)}`,
    undefined,
    400,
    'invalidFilter',
  ),
  filter('10,000 nested parentheses', `${'('.repeat(10_000)}userName eq "a"${')'.repeat(10_000)}`),
  filter('200 terms', Array.from({ length: 200 }, (_, i) => `userName eq "u${i}"`).join(' or ')),
  refused('GET /Users with count=1e400', 'GET', '/Users?count=1e400', undefined, 400, 'invalidValue'),
  refused('GET /Users with startIndex=1;DROP', 'GET', `/Users?startIndex=${enc('1;DROP')}`, undefined, 400, 'invalidValue'),
  refused(
    'GET /Users with 1,000 attributes',
    'GET',
    `/Users?attributes=${Array(1000).fill('userName').join(',')}`,
    undefined,
    400,
    'invalidValue',
  ),
]

/** Deep and broken PATCH paths: refused by the path grammar's bounds, never a stack overflow. */
const paths: ScimHostileCase[] = [
  refused(
    'PATCH a path 1,000 sub-attributes deep',
    'PATCH',
    USER,
    patchOf({ op: 'replace', path: Array(1000).fill('name').join('.'), value: 'x' }),
    400,
    'invalidPath',
  ),
  refused(
    'PATCH a path of 10,000 nested brackets',
    'PATCH',
    USER,
    patchOf({ op: 'replace', path: `emails${'['.repeat(10_000)}`, value: 'x' }),
    400,
    'invalidPath',
  ),
  refused(
    'PATCH a path of 60,000 characters',
    'PATCH',
    USER,
    patchOf({ op: 'replace', path: 'a'.repeat(60_000), value: 'x' }),
    400,
    'invalidPath',
  ),
  refused(
    'PATCH a value filter nested in a value filter',
    'PATCH',
    USER,
    patchOf({ op: 'replace', path: 'emails[value[type eq "a"] eq "b"].value', value: 'x' }),
    400,
    ['invalidPath', 'invalidFilter'],
  ),
  refused(
    'PATCH 101 operations',
    'PATCH',
    USER,
    patchOf(...Array(101).fill({ op: 'replace', path: 'displayName', value: 'x' })),
    400,
    'invalidSyntax',
  ),
  refused('PATCH an operation that is a string', 'PATCH', USER, patchOf('replace displayName'), 400, 'invalidSyntax'),
  refused(
    'PATCH the id',
    'PATCH',
    USER,
    patchOf({ op: 'replace', path: 'id', value: '000000000000000000000000' }),
    400,
    'mutability',
  ),
  refused(
    'PATCH meta.created',
    'PATCH',
    USER,
    patchOf({ op: 'replace', path: 'meta.created', value: '2000-01-01T00:00:00Z' }),
    400,
    'mutability',
  ),
  refused(
    'PATCH without the PatchOp schema',
    'PATCH',
    USER,
    JSON.stringify({ Operations: [{ op: 'remove', path: 'displayName' }] }),
    400,
    'invalidSyntax',
  ),
]

const protocol: ScimHostileCase[] = [
  refused('POST as text/plain', 'POST', '/Users', create(), 415, undefined, { contentType: 'text/plain' }),
  refused('POST as XML', 'POST', '/Users', '<user/>', 415, undefined, { contentType: 'application/xml' }),
  refused('POST malformed JSON', 'POST', '/Users', '{"userName":', 400, 'invalidSyntax'),
  refused('POST the JSON literal null', 'POST', '/Users', 'null', 400, 'invalidSyntax'),
  refused('PATCH with a malformed If-Match', 'PATCH', USER, patchOf({ op: 'remove', path: 'displayName' }), 400, 'invalidValue', {
    headers: { 'if-match': '"1" OR 1=1' },
  }),
  refused(
    'PATCH with a stale If-Match',
    'PATCH',
    USER,
    patchOf({ op: 'replace', path: 'displayName', value: 'x' }),
    412,
    undefined,
    {
      headers: { 'if-match': 'W/"999"' },
    },
  ),
  refused('DELETE with a stale If-Match', 'DELETE', USER, undefined, 412, undefined, { headers: { 'if-match': 'W/"999"' } }),
]

export const scimCorpus: ScimHostileCase[] = [...injection, ...traversal, ...size, ...paths, ...protocol]
