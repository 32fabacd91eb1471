// Hostile-input corpus, part: the v1.1 user fields (imported password hashes, disable with
// expiry, the profile fields) and the wider usernames. Sent by a users:write caller, so a field
// only users:admin may set must come back 403 even when it is well-formed.
import { create, enc, type HostileCase, ID, invalid, refused, USERS } from './corpus.builders'

const BCRYPT = '$2b$04$uVnA.M1mkdPOLQJY71jwEe0NNg0UcXpnEJ9Iy.4Hls39q/jm3LwoC'
const PASSLIB_TAIL = '0RrDuDeG0LqXMkaoFQIAgA$N/rfIlJH/DizsvvR91qDookjt8fHe8HkpUc7Pqchc7g'
const DJANGO_HASH = 'iZP1VC0sjUuio11ZrzREgJgjlWLbUppPkmXZrmfhKeI='

const badHashes: [string, unknown][] = [
  ['MD5 crypt', '$1$saltsalt$qjXMvbEw8oaL.CzflDugX/'],
  ['argon2d', '$argon2d$v=19$m=65536,t=2,p=1$8V6L8Z4zJmTM2bs3BiDE+A$0r03K2m07B8b5xTHDFx/InQ4Jhr6TCj91spcQRTlefs'],
  [
    'argon2id with 4 GiB of memory',
    '$argon2id$v=19$m=4194304,t=2,p=1$8V6L8Z4zJmTM2bs3BiDE+A$0r03K2m07B8b5xTHDFx/InQ4Jhr6TCj91spcQRTlefs',
  ],
  [
    'argon2id with 1,000 passes',
    '$argon2id$v=19$m=65536,t=1000,p=1$8V6L8Z4zJmTM2bs3BiDE+A$0r03K2m07B8b5xTHDFx/InQ4Jhr6TCj91spcQRTlefs',
  ],
  ['bcrypt cost 31', BCRYPT.replace('$04$', '$31$')],
  ['bcrypt $2x$', BCRYPT.replace('$2b$', '$2x$')],
  ['PBKDF2 with a trillion iterations', `$pbkdf2-sha256$1000000000000$${PASSLIB_TAIL}`],
  ['PBKDF2 with 0 iterations', `$pbkdf2-sha256$0$${PASSLIB_TAIL}`],
  ['PBKDF2 with a negative iteration count', `pbkdf2_sha256$-1000$salt$${DJANGO_HASH}`],
  ['a $ injected into a Django salt', `pbkdf2_sha256$1000$a$b$${DJANGO_HASH}`],
  ['an extra $-field after a bcrypt hash', `${BCRYPT}$extra`],
  ['a hash with a trailing newline', `${BCRYPT}\n`],
  ['a hash with a NUL', `${BCRYPT.slice(0, 30)}\u0000${BCRYPT.slice(31)}`],
  // Under the body limit (a larger one is a 413 before any parsing).
  ['a 10,000-character hash', `$pbkdf2-sha256$29000$${'A'.repeat(10_000)}$x`],
  ['a plain-text password', 'correct horse battery staple'],
  ['a number', 12345],
  ['an array of hashes', [BCRYPT]],
]

const passwordHashes: HostileCase[] = [
  ...badHashes.flatMap(([label, hash]) => [
    invalid(`POST /v1/users with passwordHash: ${label}`, 'POST', USERS, create({ passwordHash: hash }), 'body:/passwordHash'),
    invalid(
      `PATCH /v1/users/{id} with passwordHash: ${label}`,
      'PATCH',
      ID,
      JSON.stringify({ passwordHash: hash }),
      'body:/passwordHash',
    ),
  ]),
  refused('POST a valid passwordHash without users:admin', 'POST', USERS, create({ passwordHash: BCRYPT }), 403, 'forbidden'),
  refused(
    'PATCH a valid passwordHash without users:admin',
    'PATCH',
    ID,
    JSON.stringify({ passwordHash: BCRYPT }),
    403,
    'forbidden',
  ),
  invalid(
    'POST with password and passwordHash together',
    'POST',
    USERS,
    create({ password: 'long enough secret', passwordHash: BCRYPT }),
    'body:/passwordHash',
  ),
]

const disables: HostileCase[] = [
  invalid(
    'POST disabledUntil in the past, without status',
    'POST',
    USERS,
    create({ disabledUntil: '1970-01-01T00:00:00Z' }),
    'body:/disabledUntil',
  ),
  invalid(
    'POST disabledUntil past year 9999',
    'POST',
    USERS,
    create({ status: 'disabled', disabledUntil: '275760-09-13T00:00:00Z' }),
    'body:/disabledUntil',
  ),
  invalid(
    'POST disabledUntil as words',
    'POST',
    USERS,
    create({ status: 'disabled', disabledUntil: 'tomorrow' }),
    'body:/disabledUntil',
  ),
  invalid(
    'POST disabledUntil as a number',
    'POST',
    USERS,
    create({ status: 'disabled', disabledUntil: 1e308 }),
    'body:/disabledUntil',
  ),
  invalid(
    'POST disabledUntil on February 30',
    'POST',
    USERS,
    create({ status: 'disabled', disabledUntil: '2027-02-30T00:00:00Z' }),
    'body:/disabledUntil',
  ),
  invalid(
    'POST disabledUntil with status active',
    'POST',
    USERS,
    create({ status: 'active', disabledUntil: '2099-01-01T00:00:00Z' }),
    'body:/disabledUntil',
  ),
  invalid(
    'POST a 10,000-character disabledReason',
    'POST',
    USERS,
    create({ status: 'disabled', disabledReason: 'r'.repeat(10_000) }),
    'body:/disabledReason',
  ),
  invalid(
    'POST a disabledReason with a bidi override',
    'POST',
    USERS,
    create({ status: 'disabled', disabledReason: 'fine\u202Eenif' }),
    'body:/disabledReason',
  ),
  refused(
    'POST an absurdly far disable without users:admin',
    'POST',
    USERS,
    create({ status: 'disabled', disabledUntil: '9999-12-31T23:59:59Z' }),
    403,
    'forbidden',
  ),
  refused(
    'PATCH disabledUntil without users:admin',
    'PATCH',
    ID,
    JSON.stringify({ disabledUntil: '2099-01-01T00:00:00Z' }),
    403,
    'forbidden',
  ),
  refused(
    'PATCH disabledReason: null without users:admin',
    'PATCH',
    ID,
    JSON.stringify({ disabledReason: null }),
    403,
    'forbidden',
  ),
  invalid(
    'PATCH disabledUntil with status active',
    'PATCH',
    ID,
    JSON.stringify({ status: 'active', disabledUntil: '2099-01-01T00:00:00Z' }),
    'body:/disabledUntil',
  ),
]

const profileFields: HostileCase[] = [
  invalid('POST lastSignInAt (read-only)', 'POST', USERS, create({ lastSignInAt: '2026-01-01T00:00:00Z' }), 'body:/lastSignInAt'),
  invalid(
    'PATCH lastSignInAt (read-only)',
    'PATCH',
    ID,
    JSON.stringify({ lastSignInAt: '2026-01-01T00:00:00Z' }),
    'body:/lastSignInAt',
  ),
  invalid('POST emailVerified as the string "true"', 'POST', USERS, create({ emailVerified: 'true' }), 'body:/emailVerified'),
  invalid('PATCH emailVerified: null', 'PATCH', ID, JSON.stringify({ emailVerified: null }), 'body:/emailVerified'),
  invalid('POST a 256-character externalId', 'POST', USERS, create({ externalId: 'x'.repeat(256) }), 'body:/externalId'),
  invalid('POST an externalId with a newline', 'POST', USERS, create({ externalId: 'a\nb' }), 'body:/externalId'),
  invalid('POST an externalId with surrounding spaces', 'POST', USERS, create({ externalId: ' 00u1 ' }), 'body:/externalId'),
  invalid('POST a givenName of 101 characters', 'POST', USERS, create({ givenName: 'g'.repeat(101) }), 'body:/givenName'),
  invalid('PATCH a familyName of whitespace only', 'PATCH', ID, JSON.stringify({ familyName: ' \t ' }), 'body:/familyName'),
]

const usernames: [string, string][] = [
  ['a UPN with a space', 'alice contoso.com#EXT#@fabrikam.onmicrosoft.com'],
  ['a UPN with a slash', 'alice/contoso.com#EXT#@fabrikam.onmicrosoft.com'],
  ['a question mark', 'alice?x=1@example.com'],
  ['a percent-encoded slash', 'alice%2Fbob'],
  ['only dots', '..'],
  ['a quoted local part', '"alice"@example.com'],
  ['a backslash', 'alice\\bob'],
  ['a Cyrillic lookalike', 'аlice@example.com'],
  ['a right-to-left override', 'alice\u202E@example.com'],
  ['255 characters', `${'a'.repeat(243)}@example.com`.padStart(255, 'b')],
]

const upns: HostileCase[] = [
  ...usernames.map(([label, username]) =>
    invalid(`POST a username with ${label}`, 'POST', USERS, create({ username }), 'body:/username'),
  ),
  ...usernames
    // A slash would change the path; `..` is a dot segment, resolved away before routing.
    .filter(([label]) => !label.includes('slash') && label !== 'only dots')
    .map(([label, username]) =>
      invalid(
        `GET /v1/users/by-username/{username} with ${label}`,
        'GET',
        `/v1/users/by-username/${enc(username)}`,
        undefined,
        'path:/username',
      ),
    ),
  invalid('GET /v1/users with q holding a quote', 'GET', `${USERS}?q=${enc('"a')}`, undefined, 'query:/q'),
]

export const fields = [...passwordHashes, ...disables, ...profileFields, ...upns]
