// Hostile-input corpus, part: protocol: content types, huge numbers, path traversal and encoded slashes.
import { create, createWith, type HostileCase, ID, invalid, type Method, refused, USERS, VERIFY } from './corpus.builders'

const unsupported = (name: string, method: Method, path: string, body: string, contentType: string | null) =>
  refused(name, method, path, body, 415, 'unsupported_media_type', { contentType })
const contentTypes: HostileCase[] = [
  unsupported('POST JSON as text/plain', 'POST', USERS, create(), 'text/plain'),
  unsupported('POST JSON without a Content-Type', 'POST', USERS, create(), null),
  unsupported(
    'POST a form (x-www-form-urlencoded)',
    'POST',
    USERS,
    'username=alice&email=alice%40example.com',
    'application/x-www-form-urlencoded',
  ),
  unsupported(
    'POST multipart/form-data',
    'POST',
    USERS,
    '--b\r\nContent-Disposition: form-data; name="u"\r\n\r\na\r\n--b--\r\n',
    'multipart/form-data; boundary=b',
  ),
  unsupported('POST with application/jsonx', 'POST', USERS, create(), 'application/jsonx'),
  unsupported('POST with a made-up +json media type', 'POST', USERS, create(), 'application/vnd.evil+json'),
  unsupported('POST a merge patch media type to create', 'POST', USERS, create(), 'application/merge-patch+json'),
  unsupported(
    'PATCH as application/json-patch+json',
    'PATCH',
    ID,
    '[{"op":"replace","path":"/role","value":"admin"}]',
    'application/json-patch+json',
  ),
  unsupported(
    'PATCH a merge patch labelled application/json-patch+json',
    'PATCH',
    ID,
    '{"displayName":"x"}',
    'application/json-patch+json',
  ),
  unsupported('POST /v1/auth/verify as text/plain', 'POST', VERIFY, '{"login":"a","password":"b"}', 'text/plain'),
  refused('POST a form body labelled application/json', 'POST', USERS, 'username=alice', 400, 'malformed_json'),
  refused('POST an empty body labelled application/json', 'POST', USERS, '', 400, 'malformed_json'),
]

const hugeNumbers: HostileCase[] = [
  ...['1e400', '18446744073709551616', '-1', '0', '1.5', 'NaN', 'Infinity', '101'].map((limit) =>
    invalid(`GET /v1/users?limit=${limit}`, 'GET', `${USERS}?limit=${limit}`, undefined, 'query:/limit'),
  ),
  invalid(
    'POST with 1e400 (Infinity once parsed) in metadata',
    'POST',
    USERS,
    createWith('"metadata":{"n":1e400}'),
    'body:/metadata/n',
  ),
  invalid('POST with -1e400 in a metadata array', 'POST', USERS, createWith('"metadata":{"n":[-1e400]}'), 'body:/metadata/n'),
  invalid('POST with 1e400 as the username', 'POST', USERS, createWith('"username":1e400'), 'body:/username'),
  invalid('POST setting version to 2^64', 'POST', USERS, createWith('"version":18446744073709551616'), 'body:/version'),
  // Well-formed entity tags that can never be a version: the precondition fails, nothing changes.
  refused('PATCH with If-Match "2^64"', 'PATCH', ID, '{"displayName":"x"}', 412, 'precondition_failed', {
    headers: { 'if-match': '"18446744073709551616"' },
  }),
  refused('DELETE with If-Match "1e400"', 'DELETE', ID, undefined, 412, 'precondition_failed', {
    headers: { 'if-match': '"1e400"' },
  }),
]

const paths: HostileCase[] = [
  invalid('GET /v1/users/..%2F..%2Fadmin', 'GET', '/v1/users/..%2F..%2Fadmin', undefined, 'path:/id'),
  // The URL parser resolves %2e%2e segments before routing; what is left matches no route.
  refused('GET /v1/users/%2e%2e/%2e%2e/etc/passwd', 'GET', '/v1/users/%2e%2e/%2e%2e/etc/passwd', undefined, 404, 'not_found'),
  invalid(
    'GET by-username with ..%2f..%2fetc%2fpasswd',
    'GET',
    '/v1/users/by-username/..%2f..%2fetc%2fpasswd',
    undefined,
    'path:/username',
  ),
  invalid('GET by-email with an encoded slash', 'GET', '/v1/users/by-email/a%2F..%2Fb@example.com', undefined, 'path:/email'),
  invalid('DELETE /v1/users/{id}%2F..%2F{id}', 'DELETE', `${ID}%2F..%2F{id}`, undefined, 'path:/id'),
  invalid('PATCH /v1/users/%2e%2e%2f{id}', 'PATCH', '/v1/users/%2e%2e%2f{id}', '{"displayName":"x"}', 'path:/id'),
  invalid(
    'GET by-username with percent-encoded invalid UTF-8 (%ff)',
    'GET',
    '/v1/users/by-username/al%ffice',
    undefined,
    'path:/username',
  ),
  invalid('GET by id with a broken percent escape (%ZZ)', 'GET', '/v1/users/%ZZ', undefined, 'path:/id'),
  invalid('GET by id with encoded backslashes', 'GET', `${ID}%5C..%5C`, undefined, 'path:/id'),
]

export const protocol = [...contentTypes, ...hugeNumbers, ...paths]
