// Hostile-input corpus, part: the compatibility routes (LEGACY_ROUTES=true), which take the Flask
// service's shapes but must refuse everything /v1 refuses.
import { type HostileCase, invalid, OPERATORS, refused } from './corpus.builders'

const CREATE = '/create'
/** The existing user every case names (tests/hostile.test.ts creates it as `victim`). */
const UPDATE = '/update/victim'
const LEGACY_FIELDS = ['username', 'email', 'password', 'role', 'is_active']

const fresh = () => {
  const n = crypto.randomUUID().slice(0, 8)
  return { username: `legacy${n}`, email: `legacy${n}@example.com` }
}
const legacyCreate = (fields: Record<string, unknown> = {}) => JSON.stringify({ ...fresh(), ...fields })

const operatorInjection: HostileCase[] = LEGACY_FIELDS.flatMap((field) =>
  Object.entries(OPERATORS).flatMap(([label, value]) => [
    invalid(`POST /create with ${label} in ${field}`, 'POST', CREATE, legacyCreate({ [field]: value }), `body:/${field}`),
    invalid(
      `PUT /update/{username} with ${label} in ${field}`,
      'PUT',
      UPDATE,
      JSON.stringify({ [field]: value }),
      `body:/${field}`,
    ),
  ]),
)

const massAssignment: HostileCase[] = [
  invalid('POST /create setting _id (the seed stored whatever came)', 'POST', CREATE, legacyCreate({ _id: 'x' }), 'body:/_id'),
  invalid(
    'POST /create setting a password hash',
    'POST',
    CREATE,
    legacyCreate({ passwordHash: '$argon2id$v=19$x' }),
    'body:/passwordHash',
  ),
  invalid('PUT /update/{username} setting version', 'PUT', UPDATE, '{"version":99}', 'body:/version'),
  invalid(
    'POST /create with a top-level __proto__ granting admin',
    'POST',
    CREATE,
    `${legacyCreate().slice(0, -1)},"__proto__":{"role":"admin"}}`,
    'body:/__proto__',
  ),
  refused('PUT /update/{username} making a user admin without users:admin', 'PUT', UPDATE, '{"role":"admin"}', 403, 'forbidden'),
  refused('PUT /update/{username} disabling a user without users:admin', 'PUT', UPDATE, '{"is_active":false}', 403, 'forbidden'),
  refused(
    'POST /create with duplicate role keys, the last one admin',
    'POST',
    CREATE,
    `${legacyCreate().slice(0, -1)},"role":"user","role":"admin"}`,
    403,
    'forbidden',
  ),
]

const paths: HostileCase[] = [
  invalid('GET /read/..%2F..%2Fadmin', 'GET', '/read/..%2F..%2Fadmin', undefined, 'path:/username'),
  invalid('GET /read/ with a NUL', 'GET', '/read/vic%00tim', undefined, 'path:/username'),
  invalid(
    'GET /read/ with an operator as text',
    'GET',
    `/read/${encodeURIComponent('{"$ne":null}')}`,
    undefined,
    'path:/username',
  ),
  // URL parsing resolves %2e%2e as `..` before routing: /update/%2e%2e is `/`, the service index,
  // which answers GET only.
  refused('PUT /update/%2e%2e', 'PUT', '/update/%2e%2e', '{"email":"a@example.com"}', 405, 'method_not_allowed'),
  invalid('DELETE /delete/victim%2F..%2Fvictim', 'DELETE', '/delete/victim%2F..%2Fvictim', undefined, 'path:/username'),
  refused('PUT /update/{username} with an empty object', 'PUT', UPDATE, '{}', 400, 'validation_failed'),
  refused('POST /create as text/plain', 'POST', CREATE, legacyCreate(), 415, 'unsupported_media_type', {
    contentType: 'text/plain',
  }),
]

export const legacy: HostileCase[] = [...operatorInjection, ...massAssignment, ...paths]
