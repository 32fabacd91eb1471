import { describe, expect, it } from 'bun:test'
import { MongoServerError, MongoWriteConcernError } from 'mongodb'
import { isDuplicateKeyError, isUnavailable } from '../src/db/errors'
import { toJsonPointer } from '../src/http/errors'
import { ifMatchAllows, ifNoneMatchHits, parsePrecondition } from '../src/http/etag'
import { type JsonValue, mergePatch } from '../src/users/users.metadata'
import { decodeCursor, encodeCursor, pageQuery } from '../src/users/users.pagination'
import type { ListUsersQuery } from '../src/users/users.schemas'

describe('JSON merge patch (RFC 7396 appendix A)', () => {
  const cases: [JsonValue, JsonValue, JsonValue][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ]
  it.each(cases)('merges %j with %j', (target, patch, result) => {
    expect(mergePatch(target, patch)).toEqual(result)
  })

  it('does not modify its inputs', () => {
    const target = { a: { b: 1 } }
    mergePatch(target, { a: { b: 2 } })
    expect(target).toEqual({ a: { b: 1 } })
  })
})

describe('entity tags', () => {
  it('parses lists, weak tags and *', () => {
    expect(parsePrecondition('*')).toEqual({ any: true })
    expect(parsePrecondition('"1", W/"2" ,"x"')).toEqual({ any: false, strong: [1], weak: [2] })
    expect(parsePrecondition('1')).toBeNull()
    expect(parsePrecondition('"1" "2"')).toBeNull()
  })

  it('compares strongly for If-Match and weakly for If-None-Match', () => {
    const weak = parsePrecondition('W/"3"')!
    expect(ifMatchAllows(weak, 3)).toBe(false)
    expect(ifNoneMatchHits(weak, 3)).toBe(true)
    expect(ifMatchAllows(parsePrecondition('"3"')!, 4)).toBe(false)
  })
})

describe('JSON pointers', () => {
  it('escapes ~ and / (RFC 6901)', () => {
    expect(toJsonPointer(['a/b', 'c~d', 0])).toBe('/a~1b/c~0d/0')
    expect(toJsonPointer([])).toBe('')
  })
})

describe('cursors', () => {
  const query = { sort: '-createdAt' as const, role: 'user' as const, status: undefined, q: 'Ali' }
  it('round-trips a position', () => {
    const cursor = encodeCursor(query, { key: '2026-01-01T00:00:00.000Z', id: '0123456789abcdef01234567' })
    expect(decodeCursor({ ...query, q: 'ali' }, cursor)).toEqual({
      key: '2026-01-01T00:00:00.000Z',
      id: '0123456789abcdef01234567',
    })
  })

  it("bounds a page after a cursor by its sort key outside the tie-break's $or, so MongoDB's index scan starts there", () => {
    const position = { key: '2026-01-01T00:00:00.000Z', id: '0123456789abcdef01234567' }
    const list = { ...query, limit: 10, cursor: encodeCursor(query, position) } as unknown as ListUsersQuery
    const after = (pageQuery(list, new Date()).filter as { $and: Record<string, unknown>[] }).$and[1]
    expect(after?.createdAt).toEqual({ $lte: new Date(position.key) })
    const ascending = { ...list, sort: 'createdAt' as const }
    const next = { ...ascending, cursor: encodeCursor(ascending, position) }
    expect((pageQuery(next, new Date()).filter as { $and: Record<string, unknown>[] }).$and[1]?.createdAt).toEqual({
      $gte: new Date(position.key),
    })
  })

  it('refuses a cursor issued for other filters', () => {
    const cursor = encodeCursor(query, { key: 'x', id: '0123456789abcdef01234567' })
    expect(() => decodeCursor({ ...query, q: 'bob' }, cursor)).toThrow('different filters or sort')
  })
})

describe('a failover in progress is unavailable (503), not a failure (500)', () => {
  const serverError = (code: number, errmsg: string) => new MongoServerError({ code, errmsg, ok: 0 })
  it.each([
    ['NotWritablePrimary', serverError(10107, 'not primary'), true],
    ['InterruptedDueToReplStateChange', serverError(11602, 'operation was interrupted'), true],
    ['PrimarySteppedDown', serverError(189, 'primary stepped down'), true],
    ['NotPrimaryNoSecondaryOk', serverError(13435, 'not primary and secondaryOk=false'), true],
    ['ShutdownInProgress', serverError(91, 'shutdown in progress'), true],
    [
      'a write concern error of a stepdown',
      new MongoWriteConcernError({ writeConcernError: { code: 11602, errmsg: 'x' }, ok: 1 }),
      true,
    ],
    ['MaxTimeMSExpired', serverError(50, 'operation exceeded time limit'), true],
    // A majority read (COMMITTED_READS) on a new primary without a majority snapshot yet.
    ['ReadConcernMajorityNotAvailableYet', serverError(134, 'read concern majority not available yet'), true],
    // A w: majority write past a wtimeoutMS the URI may give: its outcome is unknown.
    [
      'a write concern timeout',
      new MongoWriteConcernError({ writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' }, ok: 1 }),
      true,
    ],
    ['a bad value', serverError(2, 'bad value'), false],
    ['a duplicate key', serverError(11000, 'E11000 duplicate key error'), false],
  ])('%s', (_, error, expected) => {
    expect(isUnavailable(error)).toBe(expected)
  })
})

describe('duplicate-key detection (MongoDB and FerretDB dialects)', () => {
  const serverError = (code: number, errmsg: string) => new MongoServerError({ code, errmsg, ok: 0 })
  it.each([
    ['MongoDB 11000', serverError(11000, 'E11000 duplicate key error collection: users.users index: usernameKey_unique'), true],
    ['FerretDB/SQLite on update (code 1)', serverError(1, 'UNIQUE constraint failed: users_1234.usernameKey'), true],
    ['FerretDB/PostgreSQL on update (code 1)', serverError(1, 'duplicate key value violates unique constraint "x"'), true],
    ['another internal error', serverError(1, 'disk I/O error'), false],
    ['a different server error', serverError(2, 'bad value'), false],
    ['not a server error', new Error('E11000'), false],
  ])('%s', (_, error, expected) => {
    expect(isDuplicateKeyError(error)).toBe(expected)
  })
})
