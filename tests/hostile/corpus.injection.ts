// Hostile-input corpus, part: injection: operators, prototype pollution and duplicate keys.
import {
  create,
  createWith,
  enc,
  type HostileCase,
  ID,
  invalid,
  OPERATORS,
  QUERY_PARAMETERS,
  refused,
  USER_FIELDS,
  USERS,
  VERIFY,
} from './corpus.builders'

const operatorInjection: HostileCase[] = [
  ...USER_FIELDS.flatMap((field) =>
    Object.entries(OPERATORS).flatMap(([label, value]) => [
      invalid(`POST /v1/users with ${label} in ${field}`, 'POST', USERS, create({ [field]: value }), `body:/${field}`),
      invalid(
        `PATCH /v1/users/{id} with ${label} in ${field}`,
        'PATCH',
        ID,
        JSON.stringify({ [field]: value }),
        `body:/${field}`,
      ),
    ]),
  ),
  ...['login', 'password'].flatMap((field) =>
    Object.entries(OPERATORS).map(([label, value]) =>
      invalid(
        `POST /v1/auth/verify with ${label} in ${field}`,
        'POST',
        VERIFY,
        JSON.stringify({ login: 'a', password: 'b', [field]: value }),
        `body:/${field}`,
      ),
    ),
  ),
  ...QUERY_PARAMETERS.flatMap((name) => [
    invalid(
      `GET /v1/users with ${name}[$ne]= (bracket syntax)`,
      'GET',
      `${USERS}?${name}[$ne]=x`,
      undefined,
      `query:/${name}[$ne]`,
    ),
    invalid(
      `GET /v1/users with ${name}={"$gt":""} (JSON text)`,
      'GET',
      `${USERS}?${name}=${enc('{"$gt":""}')}`,
      undefined,
      `query:/${name}`,
    ),
  ]),
  ...[
    ['/v1/users/', 'id'],
    ['/v1/users/by-username/', 'username'],
    ['/v1/users/by-email/', 'email'],
  ].map(([prefix, name]) =>
    invalid(`GET ${prefix}{${name}} with {"$gt":""}`, 'GET', `${prefix}${enc('{"$gt":""}')}`, undefined, `path:/${name}`),
  ),
  invalid('PATCH with a dotted top-level key (metadata.plan)', 'PATCH', ID, '{"metadata.plan":"x"}', 'body:/metadata.plan'),
  invalid('PATCH with $set as a top-level key', 'PATCH', ID, '{"$set":{"role":"admin"}}', 'body:/$set'),
]

const prototypePollution: HostileCase[] = [
  invalid(
    'POST with a top-level __proto__ granting admin',
    'POST',
    USERS,
    createWith('"__proto__":{"role":"admin"}'),
    'body:/__proto__',
  ),
  invalid(
    'POST with constructor.prototype granting admin',
    'POST',
    USERS,
    create({ constructor: { prototype: { role: 'admin' } } }),
    'body:/constructor',
  ),
  invalid(
    'POST with __proto__ inside metadata',
    'POST',
    USERS,
    createWith('"metadata":{"__proto__":{"polluted":true}}'),
    'body:/metadata/__proto__',
  ),
  invalid(
    'POST with constructor.prototype inside metadata',
    'POST',
    USERS,
    create({ metadata: { constructor: { prototype: { polluted: true } } } }),
    'body:/metadata/constructor',
  ),
  invalid('PATCH with a top-level __proto__', 'PATCH', ID, '{"__proto__":{"role":"admin"}}', 'body:/__proto__'),
  invalid(
    'PATCH with __proto__ nested in metadata',
    'PATCH',
    ID,
    '{"metadata":{"prefs":{"__proto__":{"polluted":true}}}}',
    'body:/metadata/prefs/__proto__',
  ),
  invalid(
    'POST /v1/auth/verify with __proto__',
    'POST',
    VERIFY,
    '{"login":"a","password":"b","__proto__":{"x":1}}',
    'body:/__proto__',
  ),
]

// Duplicate keys: JSON.parse keeps the last one, and that parsed object is what validation,
// authorization and storage all see, so no duplicate can slip a value past a check.
const duplicateKeys: HostileCase[] = [
  refused(
    'POST {"role":"user","role":"admin"} from a non-admin',
    'POST',
    USERS,
    createWith('"role":"user","role":"admin"'),
    403,
    'forbidden',
  ),
  refused(
    'POST {"status":"active","status":"disabled"} from a non-admin',
    'POST',
    USERS,
    createWith('"status":"active","status":"disabled"'),
    403,
    'forbidden',
  ),
  refused(
    'PATCH {"role":"user","role":"admin"} from a non-admin',
    'PATCH',
    ID,
    '{"displayName":"x","role":"user","role":"admin"}',
    403,
    'forbidden',
  ),
  invalid(
    'POST with a valid username, then an operator under the same key',
    'POST',
    USERS,
    createWith('"username":{"$gt":""}'),
    'body:/username',
  ),
  invalid(
    'POST with a long password, then a short one under the same key',
    'POST',
    USERS,
    createWith('"password":"long enough 1","password":"short"'),
    'body:/password',
  ),
]

export const injection = [...operatorInjection, ...prototypePollution, ...duplicateKeys]
