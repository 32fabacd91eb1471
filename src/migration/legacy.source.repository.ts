import { createHash } from 'node:crypto'
import { Binary, BSON, BSONRegExp, type Collection, type Document, type Filter, MongoClient, ObjectId, Timestamp } from 'mongodb'
import { isUnavailable } from '../db/errors'

const { EJSON } = BSON

/**
 * Reads the Flask + MongoEngine service's `user` collection: the only module of the import that
 * knows BSON. It hands the import plain values (string ids, raw field values as they are stored)
 * and an opaque position for the checkpoint, so the mapping and the orchestration never see a
 * driver type.
 */

/** One seed document as the import sees it. */
export type SourceDocument = {
  /** The seed's `_id` for the report: the hex of an ObjectId, else its Extended JSON (`"bob"`, `42`). */
  sourceId: string
  /**
   * The id the user gets in the target: the seed's own ObjectId when it is one, so links and logs
   * that name it keep working; otherwise an ObjectId derived from the seed id by hashing, so that a
   * second run computes the same id and recognises the user as already imported.
   */
  targetId: string
  /** The ObjectId's creation time when the seed id is an ObjectId (MongoEngine's ids are). */
  createdAt?: Date
  /** The stored fields other than `_id`, as stored: anything may be of any type. */
  fields: Record<string, unknown>
  /** Where this document sits in `_id` order, for the checkpoint. Opaque outside this module. */
  position: SourcePosition
}

/** A seed `_id` value; only this module and the checkpoint store (which stores it as is) handle it. */
export type SourcePosition = { readonly raw: unknown }

export type LegacySource = {
  /** `host/db/collection`, without credentials: names the source in checkpoints and output. */
  name: string
  /** Documents in the source, or after `after` (an estimate without it: it sizes a progress bar). */
  count(after?: SourcePosition): Promise<number>
  /** Documents in `_id` order, in arrays of `batchSize`, starting after `after` when given. */
  batches(options: { batchSize: number; after?: SourcePosition }): AsyncIterable<SourceDocument[]>
  close(): Promise<void>
}

/** `mongodb://[user:pass@]host[:port]/<db>[/<collection>][?options]`; the collection defaults to `user`. */
export function parseSourceUri(text: string): { uri: string; db: string; collection: string; name: string } {
  const match = /^(mongodb(?:\+srv)?:\/\/)([^/?]+)\/([^/?]+)(?:\/([^/?]+))?(\?.*)?$/.exec(text)
  if (!match) {
    throw new Error(`--from must look like mongodb://host:27017/<database>/<collection> (got ${redact(text)})`)
  }
  const [, scheme = '', authority = '', db = '', collection = 'user', query = ''] = match
  // An '@' after the host: a password with an unescaped '/' or '?' (it would be read as the
  // database name or the options, and the name printed).
  if (`${db}/${collection}${query}`.includes('@')) {
    throw new Error(`--from: percent-encode the password's "/" and "@" (%2F, %40) (got ${redact(text)})`)
  }
  const host = authority.slice(authority.lastIndexOf('@') + 1)
  return { uri: `${scheme}${authority}/${query}`, db, collection, name: `${host}/${db}/${collection}` }
}

/**
 * The text without anything before its last `@` but the scheme: a password may hold `/` or `@`
 * unescaped, which is what makes such a URI fail to parse in the first place.
 */
function redact(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/i, '$1***@')
}

/** Opens the seed collection read-only (nothing here writes). */
export async function openLegacySource(from: string, options: { timeoutMs?: number } = {}): Promise<LegacySource> {
  const { uri, db, collection, name } = parseSourceUri(from)
  const timeoutMs = options.timeoutMs ?? 10_000
  const client = new MongoClient(uri, {
    appName: 'users-service-import',
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    // Reads past the primary are fine for a one-off copy, and keep load off the old service.
    readPreference: 'secondaryPreferred',
  })
  await client.connect().catch(async (error: unknown) => {
    await client.close().catch(() => {})
    // Only a source that did not answer may answer later; one that refused (bad credentials,
    // 18 AuthenticationFailed) refuses the same command again.
    throw isUnavailable(error) ? new SourceUnreachableError(error) : error
  })
  return { ...legacySourceOn(client.db(db).collection(collection), name), close: () => client.close() }
}

/** The source did not answer: unlike a malformed `--from`, the same command may work later. */
export class SourceUnreachableError extends Error {
  constructor(cause: unknown) {
    super('the source did not answer', { cause })
  }
}

/** The reading part on an open collection (tests hand in their own). */
export function legacySourceOn(users: Collection<Document>, name: string): Omit<LegacySource, 'close'> {
  return {
    name,
    count: (after) => (after ? users.countDocuments(resumeFilter(after.raw)) : users.estimatedDocumentCount()),
    async *batches({ batchSize, after }) {
      const cursor = users
        .find(after ? resumeFilter(after.raw) : {})
        .sort({ _id: 1 })
        .batchSize(batchSize)
      let batch: SourceDocument[] = []
      try {
        for await (const doc of cursor) {
          batch.push(toSourceDocument(doc))
          if (batch.length === batchSize) {
            yield batch
            batch = []
          }
        }
        if (batch.length > 0) yield batch
      } finally {
        await cursor.close()
      }
    },
  }
}

function toSourceDocument(doc: Document): SourceDocument {
  const { _id, ...fields } = doc
  const isObjectId = _id instanceof ObjectId
  return {
    sourceId: isObjectId ? _id.toHexString() : EJSON.stringify(_id, { relaxed: true }),
    targetId: isObjectId ? _id.toHexString() : derivedId(_id),
    ...(isObjectId ? { createdAt: _id.getTimestamp() } : {}),
    fields,
    position: { raw: _id },
  }
}

function derivedId(id: unknown): string {
  const canonical = EJSON.stringify(id, { relaxed: false })
  return createHash('sha256').update(`legacy-user-id:${canonical}`).digest('hex').slice(0, 24)
}

/**
 * BSON compares values of different types by a fixed type order, but `$gt` only matches values of
 * the same type. So "after X" is: greater values of X's type, or any value of a later type.
 */
const TYPE_ORDER = ['number', 'string', 'object', 'binData', 'objectId', 'bool', 'date', 'timestamp', 'regex'] as const

function typeOf(value: unknown): (typeof TYPE_ORDER)[number] {
  if (value instanceof ObjectId) return 'objectId'
  if (typeof value === 'string') return 'string'
  if (typeof value === 'number' || typeof value === 'bigint') return 'number'
  if (typeof value === 'boolean') return 'bool'
  if (value instanceof Date) return 'date'
  if (value instanceof Timestamp) return 'timestamp'
  if (value instanceof RegExp || value instanceof BSONRegExp) return 'regex'
  if (value instanceof Binary) return 'binData'
  const bsontype = (value as { _bsontype?: string } | null)?._bsontype
  if (bsontype === 'Int32' || bsontype === 'Double' || bsontype === 'Long' || bsontype === 'Decimal128') return 'number'
  return 'object'
}

function resumeFilter(after: unknown): Filter<Document> {
  const later = TYPE_ORDER.slice(TYPE_ORDER.indexOf(typeOf(after)) + 1)
  // The driver's types know `_id` only as an ObjectId, and `$type` without the `number` alias.
  const filter = later.length > 0 ? { $or: [{ _id: { $gt: after } }, { _id: { $type: later } }] } : { _id: { $gt: after } }
  return filter as Filter<Document>
}
