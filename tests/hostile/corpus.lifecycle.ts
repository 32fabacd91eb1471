// Hostile-input corpus, part: the lifecycle (issue 15): restore, erase, and the reads of deleted
// users. Most cases are sent with users:admin, since a writer is refused before anything is read;
// the last ones check that refusal. `{id}` is a live user: an erase that slipped through would show
// in the snapshot.
import { enc, type HostileCase, ID, invalid, refused, tenMegabyteStream, USERS } from './corpus.builders'

const RESTORE = `${ID}/restore`
const ERASE = `${ID}/erase`
const admin = { caller: 'admin' } as const

const BAD_IDS = [
  ['a short id', 'abc'],
  ['an upper-case id', '0123456789ABCDEF01234567'],
  ['an operator', enc('{"$gt":""}')],
  ['a NUL', '0123456789abcdef0123456%00'],
  ['an encoded traversal', '..%2F..%2Fadmin'],
]

const badIds: HostileCase[] = BAD_IDS.flatMap(([label, id]) =>
  ['restore', 'erase'].map((action) =>
    invalid(`POST /v1/users/{id}/${action} with ${label}`, 'POST', `/v1/users/${id}/${action}`, undefined, 'path:/id', admin),
  ),
)

const bodies: HostileCase[] = [
  invalid('POST restore with a body that renames the user', 'POST', RESTORE, '{"username":"taken.over"}', 'body:', admin),
  invalid('POST restore with an empty JSON object', 'POST', RESTORE, '{}', 'body:', admin),
  invalid('POST erase with an operator body', 'POST', ERASE, '{"$where":"sleep(1000) || true"}', 'body:', admin),
  invalid('POST erase with a body as text/plain', 'POST', ERASE, 'erase everyone', 'body:', {
    ...admin,
    contentType: 'text/plain',
  }),
  invalid('POST erase with a body and no Content-Type', 'POST', ERASE, '{}', 'body:', { ...admin, contentType: null }),
  refused('POST erase with a 10 MB streamed body', 'POST', ERASE, tenMegabyteStream, 413, 'payload_too_large', {
    ...admin,
    contentType: 'application/octet-stream',
  }),
  invalid('POST restore with a malformed If-Match', 'POST', RESTORE, undefined, 'header:/if-match', {
    ...admin,
    headers: { 'if-match': '3' },
  }),
]

const queries: HostileCase[] = [
  invalid(
    'GET /v1/users/{id} with includeDeleted={"$gt":""}',
    'GET',
    `${ID}?includeDeleted=${enc('{"$gt":""}')}`,
    undefined,
    'query:/includeDeleted',
    admin,
  ),
  invalid(
    'GET /v1/users/{id} with includeDeleted twice',
    'GET',
    `${ID}?includeDeleted=false&includeDeleted=true`,
    undefined,
    'query:/includeDeleted',
    admin,
  ),
  invalid('GET /v1/users?deleted=1', 'GET', `${USERS}?deleted=1`, undefined, 'query:/deleted', admin),
  invalid(
    'GET /v1/users?deleted=true&deleted=false',
    'GET',
    `${USERS}?deleted=true&deleted=false`,
    undefined,
    'query:/deleted',
    admin,
  ),
]

const methods: HostileCase[] = [
  refused('GET /v1/users/{id}/erase', 'GET', ERASE, undefined, 405, 'method_not_allowed', admin),
  refused('DELETE /v1/users/{id}/restore', 'DELETE', RESTORE, undefined, 405, 'method_not_allowed', admin),
]

// Without users:admin: refused before the id is even looked at, and nothing changes.
const withoutAdmin: HostileCase[] = [
  refused('POST erase of a live user without users:admin', 'POST', ERASE, undefined, 403, 'forbidden'),
  refused('POST restore without users:admin', 'POST', RESTORE, undefined, 403, 'forbidden'),
  refused('GET /v1/users?deleted=true without users:admin', 'GET', `${USERS}?deleted=true`, undefined, 403, 'forbidden'),
  refused(
    'GET /v1/users/{id}?includeDeleted=true without users:admin',
    'GET',
    `${ID}?includeDeleted=true`,
    undefined,
    403,
    'forbidden',
  ),
]

export const lifecycle = [...badIds, ...bodies, ...queries, ...methods, ...withoutAdmin]
