import { describe, expect, it } from 'bun:test'
import { ScimError } from '../src/scim/scim.errors'
import { type FilterNode, parseFilter, parsePatchPath } from '../src/scim/scim.filter'
import { STORED_USER_FIELDS, scimUserQuery } from '../src/scim/scim.query'

/** What the parser or translator threw, checked to be a SCIM error of the given type. */
function scimErrorOf(run: () => unknown, scimType = 'invalidFilter'): ScimError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError)
    expect((error as ScimError).scimType).toBe(scimType as ScimError['scimType'])
    expect((error as ScimError).status).toBe(400)
    return error as ScimError
  }
  throw new Error('expected a ScimError, nothing was thrown')
}

const fields = {
  ...STORED_USER_FIELDS,
  id: (hex: string) => ({ _id: { oid: hex } }),
  active: (active: boolean) => ({ status: active ? 'active' : 'disabled' }),
}
const translate = (filter: string) => scimUserQuery(parseFilter(filter), fields)

const path = (attribute: string, subAttribute?: string) => ({ attribute, ...(subAttribute ? { subAttribute } : {}) })

describe('SCIM filter parser: RFC 7644 §3.4.2.2 examples', () => {
  // Every example filter of the section, in its order ("Example Filters", and the two showing
  // case-insensitive names and operators). The service answers each: a query, or invalidFilter.
  const examples: [string, FilterNode, 'query' | 'invalidFilter'][] = [
    ['userName Eq "john"', { op: 'eq', path: path('userName'), value: 'john' }, 'query'],
    ['Username eq "john"', { op: 'eq', path: path('Username'), value: 'john' }, 'query'],
    ['userName eq "bjensen"', { op: 'eq', path: path('userName'), value: 'bjensen' }, 'query'],
    ['name.familyName co "O\'Malley"', { op: 'co', path: path('name', 'familyName'), value: "O'Malley" }, 'invalidFilter'],
    ['userName sw "J"', { op: 'sw', path: path('userName'), value: 'J' }, 'query'],
    [
      'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
      { op: 'sw', path: { schema: 'urn:ietf:params:scim:schemas:core:2.0:User', attribute: 'userName' }, value: 'J' },
      'query',
    ],
    ['title pr', { op: 'pr', path: path('title') }, 'invalidFilter'],
    ...(['gt', 'ge', 'lt', 'le'] as const).map(
      (op) =>
        [
          `meta.lastModified ${op} "2011-05-13T04:42:34Z"`,
          { op, path: path('meta', 'lastModified'), value: '2011-05-13T04:42:34Z' },
          'invalidFilter',
        ] as [string, FilterNode, 'invalidFilter'],
    ),
    [
      'title pr and userType eq "Employee"',
      {
        op: 'and',
        filters: [
          { op: 'pr', path: path('title') },
          { op: 'eq', path: path('userType'), value: 'Employee' },
        ],
      },
      'invalidFilter',
    ],
    [
      'title pr or userType eq "Intern"',
      {
        op: 'or',
        filters: [
          { op: 'pr', path: path('title') },
          { op: 'eq', path: path('userType'), value: 'Intern' },
        ],
      },
      'invalidFilter',
    ],
    [
      'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
      { op: 'eq', path: path('schemas'), value: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' },
      'invalidFilter',
    ],
    [
      'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
      {
        op: 'and',
        filters: [
          { op: 'eq', path: path('userType'), value: 'Employee' },
          {
            op: 'or',
            filters: [
              { op: 'co', path: path('emails'), value: 'example.com' },
              { op: 'co', path: path('emails', 'value'), value: 'example.org' },
            ],
          },
        ],
      },
      'invalidFilter',
    ],
    [
      'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      {
        op: 'and',
        filters: [
          { op: 'ne', path: path('userType'), value: 'Employee' },
          {
            op: 'not',
            filter: {
              op: 'or',
              filters: [
                { op: 'co', path: path('emails'), value: 'example.com' },
                { op: 'co', path: path('emails', 'value'), value: 'example.org' },
              ],
            },
          },
        ],
      },
      'invalidFilter',
    ],
    [
      'userType eq "Employee" and (emails.type eq "work")',
      {
        op: 'and',
        filters: [
          { op: 'eq', path: path('userType'), value: 'Employee' },
          { op: 'eq', path: path('emails', 'type'), value: 'work' },
        ],
      },
      'invalidFilter',
    ],
    [
      'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
      {
        op: 'and',
        filters: [
          { op: 'eq', path: path('userType'), value: 'Employee' },
          {
            op: 'valuePath',
            path: path('emails'),
            filter: {
              op: 'and',
              filters: [
                { op: 'eq', path: path('type'), value: 'work' },
                { op: 'co', path: path('value'), value: '@example.com' },
              ],
            },
          },
        ],
      },
      'invalidFilter',
    ],
    [
      'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
      {
        op: 'or',
        filters: [
          {
            op: 'valuePath',
            path: path('emails'),
            filter: {
              op: 'and',
              filters: [
                { op: 'eq', path: path('type'), value: 'work' },
                { op: 'co', path: path('value'), value: '@example.com' },
              ],
            },
          },
          {
            op: 'valuePath',
            path: path('ims'),
            filter: {
              op: 'and',
              filters: [
                { op: 'eq', path: path('type'), value: 'xmpp' },
                { op: 'co', path: path('value'), value: '@foo.com' },
              ],
            },
          },
        ],
      },
      'invalidFilter',
    ],
  ]

  it.each(examples)('parses %s', (filter, tree) => {
    expect(parseFilter(filter)).toEqual(tree)
  })

  it.each(examples)('translates %s, or refuses it as invalidFilter', (filter, _tree, outcome) => {
    if (outcome === 'query') expect(translate(filter).matches).toBe('some')
    else expect(scimErrorOf(() => translate(filter)).detail).toMatch(/not supported|apply to 'emails' only/)
  })

  it('translates the supported parts of the examples once the unmodelled attributes are gone', () => {
    expect(translate('emails co "example.com" or emails.value co "example.org"')).toEqual({
      matches: 'some',
      query: { $or: [{ emailKey: /example\.com/ }, { emailKey: /example\.org/ }] },
    })
    expect(translate('not (emails co "example.com" or emails.value co "example.org")')).toEqual({
      matches: 'some',
      query: { $nor: [{ $or: [{ emailKey: /example\.com/ }, { emailKey: /example\.org/ }] }] },
    })
    expect(translate('emails[type eq "work" and value co "@example.com"]')).toEqual({
      matches: 'some',
      query: { emailKey: /@example\.com/ },
    })
    expect(translate('emails.type eq "work"')).toEqual({ matches: 'some', query: { emailKey: { $exists: true } } })
  })
})

describe('SCIM filter parser: grammar', () => {
  it('gives not precedence over and, and and over or', () => {
    expect(parseFilter('a pr or b pr and c pr')).toEqual({
      op: 'or',
      filters: [
        { op: 'pr', path: path('a') },
        {
          op: 'and',
          filters: [
            { op: 'pr', path: path('b') },
            { op: 'pr', path: path('c') },
          ],
        },
      ],
    })
    expect(parseFilter('not (a pr) and b pr or c pr')).toEqual({
      op: 'or',
      filters: [
        {
          op: 'and',
          filters: [
            { op: 'not', filter: { op: 'pr', path: path('a') } },
            { op: 'pr', path: path('b') },
          ],
        },
        { op: 'pr', path: path('c') },
      ],
    })
    expect(parseFilter('(a pr or b pr) and c pr')).toEqual({
      op: 'and',
      filters: [
        {
          op: 'or',
          filters: [
            { op: 'pr', path: path('a') },
            { op: 'pr', path: path('b') },
          ],
        },
        { op: 'pr', path: path('c') },
      ],
    })
  })

  it('reads operators, keywords and literals in any case', () => {
    expect(parseFilter('USERNAME EQ "X" AND NOT (active EQ FALSE) OR displayName Pr')).toEqual({
      op: 'or',
      filters: [
        {
          op: 'and',
          filters: [
            { op: 'eq', path: path('USERNAME'), value: 'X' },
            { op: 'not', filter: { op: 'eq', path: path('active'), value: false } },
          ],
        },
        { op: 'pr', path: path('displayName') },
      ],
    })
    expect(translate('USERNAME EQ "Alice"')).toEqual(translate('userName eq "alice"'))
  })

  it('decodes string literals as JSON strings', () => {
    const value = (filter: string) => (parseFilter(filter) as { value: unknown }).value
    expect(value(String.raw`userName eq "a\\b"`)).toBe('a\\b')
    expect(value(String.raw`userName eq "say \"hi\""`)).toBe('say "hi"')
    expect(value(String.raw`userName eq "\u00e9t\u00E9 \ud83d\ude00"`)).toBe('été 😀')
    expect(value(String.raw`userName eq "tab\there\/"`)).toBe('tab\there/')
    expect(value('userName eq "été 😀 名前"')).toBe('été 😀 名前')
    expect(value('x eq -1.5e3')).toBe(-1500)
    expect(value('x eq null')).toBeNull()
  })

  it('refuses strings that are not JSON strings', () => {
    for (const filter of [String.raw`userName eq "domain\user"`, String.raw`userName eq "\x41"`, 'userName eq "a\u0001b"']) {
      expect(scimErrorOf(() => parseFilter(filter)).detail).toContain('invalid string')
    }
    expect(scimErrorOf(() => parseFilter(String.raw`userName eq "\ud800"`)).detail).toContain('lone surrogate')
    expect(scimErrorOf(() => parseFilter('userName eq "open')).detail).toContain('unterminated string')
  })

  it('reads emails[type eq "work"].value eq "x" as one value matching both', () => {
    expect(parseFilter('emails[type eq "work"].value eq "x"')).toEqual({
      op: 'valuePath',
      path: path('emails'),
      filter: {
        op: 'and',
        filters: [
          { op: 'eq', path: path('type'), value: 'work' },
          { op: 'eq', path: path('value'), value: 'x' },
        ],
      },
    })
  })

  it.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['userName', 'expects an operator'],
    ['userName eq', 'expects a value'],
    ['userName equals "x"', 'expects an operator'],
    ['userName eq bjensen', 'expects a value'],
    ['userName eq "a" extra', 'unexpected word'],
    ['userName eq "a" and', 'expects an attribute'],
    ['((userName eq "a")', "expects ')'"],
    ['userName eq "a")', "unexpected ')'"],
    ['emails[type eq "work"', "expects ']'"],
    ['emails[type eq "work"]]', "unexpected ']'"],
    ['not userName eq "a"', 'expects an operator'],
    ['emails[type eq "work" and ims[type eq "x"]]', 'nests a value filter'],
    ['emails.value[type eq "work"]', "applies '[' to a sub-attribute"],
    ['1userName eq "a"', 'invalid number'],
    ['user*Name eq "a"', 'unexpected character'],
    ['a.b.c eq "x"', 'invalid attribute path'],
    ['$where eq "x"', 'unexpected character'],
    ['userName eq {"$ne": null}', 'unexpected character'],
    ['userName eq ["a"]', 'expects a value'],
    ['x eq 1e999', 'out-of-range number'],
  ])('refuses %j: %s', (filter, message) => {
    expect(scimErrorOf(() => parseFilter(filter)).detail).toContain(message)
  })

  it('reads PATCH paths, with a value filter and a sub-attribute', () => {
    expect(parsePatchPath('emails[type eq "work"].value')).toEqual({
      path: path('emails'),
      filter: { op: 'eq', path: path('type'), value: 'work' },
      subAttribute: 'value',
    })
    expect(parsePatchPath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.$ref')).toEqual({
      path: { schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', attribute: 'manager', subAttribute: '$ref' },
    })
    expect(scimErrorOf(() => parsePatchPath('name.givenName.first'), 'invalidPath').detail).toContain('invalid attribute path')
    expect(scimErrorOf(() => parsePatchPath('userName eq "x"'), 'invalidPath').detail).toContain('unexpected word')
  })
})

describe('SCIM filter parser: hostile input', () => {
  it('refuses "userName eq \\"a\\" or 1 eq 1" instead of matching everyone', () => {
    const error = scimErrorOf(() => translate('userName eq "a" or 1 eq 1'))
    expect(error.detail).toContain('position 19')
  })

  it('refuses 10,000 nested parentheses with a depth error, not a stack overflow', () => {
    const deep = `${'('.repeat(10_000)}userName eq "a"${')'.repeat(10_000)}`
    expect(scimErrorOf(() => parseFilter(deep)).detail).toContain('longer than 4096 characters')
    expect(scimErrorOf(() => parseFilter(deep, { maxLength: 100_000 })).detail).toContain('nests deeper than 32 levels')
    const notDeep = `${'not ('.repeat(10_000)}userName eq "a"${')'.repeat(10_000)}`
    expect(scimErrorOf(() => parseFilter(notDeep, { maxLength: 100_000 })).detail).toContain('nests deeper than 32 levels')
    expect(parseFilter(`${'('.repeat(32)}userName eq "a"${')'.repeat(32)}`)).toEqual({
      op: 'eq',
      path: path('userName'),
      value: 'a',
    })
  })

  it('bounds the number of terms and the length, so a long chain is refused quickly', () => {
    const chain = (n: number) => Array.from({ length: n }, (_, i) => `userName eq "u${i}"`).join(' or ')
    expect((parseFilter(chain(100), { maxLength: 100_000 }) as { filters: unknown[] }).filters).toHaveLength(100)
    expect(scimErrorOf(() => parseFilter(chain(101), { maxLength: 100_000 })).detail).toContain('more than 100 attribute')
    expect(scimErrorOf(() => parseFilter(`userName eq "${'a'.repeat(10 * 1024 * 1024)}"`)).detail).toContain('longer than')
  })

  it('keeps $ and operator-looking values as plain strings', () => {
    expect(translate('userName eq "$where"')).toEqual({ matches: 'some', query: { usernameKey: '$where' } })
    expect(translate('externalId eq "{\\"$ne\\": null}"')).toEqual({ matches: 'some', query: { externalId: '{"$ne": null}' } })
    expect(scimErrorOf(() => translate('userName eq 1')).detail).toContain('compares with a quoted string')
    expect(scimErrorOf(() => translate('userName eq true')).detail).toContain('compares with a quoted string')
    expect(scimErrorOf(() => translate('userName eq null')).detail).toContain('compares with a quoted string')
  })

  it('never echoes a value in an error detail', () => {
    for (const filter of [
      'userName eq "hunter2-secret" or password eq "hunter2-secret"',
      'userName eq "hunter2-secret" garbage',
      'userName eq hunter2secret',
      'userName gt "hunter2-secret"',
    ]) {
      expect(scimErrorOf(() => translate(filter)).detail).not.toContain('hunter2')
    }
  })

  it('refuses filtering on the password', () => {
    expect(scimErrorOf(() => translate('password eq "x"')).detail).toContain("'password' is not supported")
  })
})
