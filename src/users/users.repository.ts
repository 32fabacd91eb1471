import { type Collection, type Db, type Filter, ObjectId, type Sort, type UpdateFilter } from 'mongodb'
import { database, isDuplicateKeyError } from '../db/errors'
import { AppError } from '../http/app-error'
import { ifMatchAllows, type Precondition } from '../http/etag'
import { type CursorPosition, encodeCursor } from './users.cursor'
import type { JsonObject } from './users.metadata'
import type { DeleteOutcome, NewUser, UpdateOutcome, UserPage, UsersRepository } from './users.model'
import { changesFor, type UserChanges, type UserPatch } from './users.patch'
import type { ListUsersQuery, User } from './users.schemas'

/**
 * The only module that talks to MongoDB about users. It speaks the API's types (string ids, ISO
 * dates) to its callers and keeps `ObjectId`, `Date`, normalized keys and the password hash to
 * itself. Everything here is correct on MongoDB and on FerretDB: uniqueness comes from unique
 * indexes on normalized keys (never check-then-insert), every write is a single-document atomic
 * operation, and nothing relies on transactions, collations or partial/TTL indexes.
 */

/** The stored shape. `usernameKey`/`emailKey` are lower-cased copies carrying the unique indexes. */
export type UserDocument = {
  _id: ObjectId
  username: string
  usernameKey: string
  email: string
  emailKey: string
  displayName?: string
  metadata: JsonObject
  role: User['role']
  status: User['status']
  passwordHash?: string
  createdAt: Date
  updatedAt: Date
  version: number
}

/** Bounds the retries of a write that lost a race before answering 503. */
const MAX_WRITE_ATTEMPTS = 50

const busy = () =>
  new AppError('service_unavailable', 'The user is being changed by many requests at once; retry shortly.', {
    headers: { 'Retry-After': '1' },
  })

/** The collection holding users; the legacy import writes to it through its own repository. */
export const USERS_COLLECTION = 'users'

/**
 * A new user's stored document, built in one place for the API's creates and the legacy import,
 * so an imported user is stored exactly like one created through the API.
 */
export function newUserDocument(input: NewUser, _id: ObjectId, createdAt: Date, updatedAt = createdAt): UserDocument {
  return {
    _id,
    username: input.username,
    usernameKey: input.username.toLowerCase(),
    email: input.email,
    emailKey: input.email.toLowerCase(),
    ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
    metadata: input.metadata,
    role: input.role,
    status: input.status,
    ...(input.passwordHash !== undefined ? { passwordHash: input.passwordHash } : {}),
    createdAt,
    updatedAt,
    version: 1,
  }
}

export function createUsersRepository(db: Db, options: { clock?: () => Date } = {}): UsersRepository {
  const users: Collection<UserDocument> = db.collection<UserDocument>(USERS_COLLECTION)
  const now = options.clock ?? (() => new Date())

  async function ensureIndexes() {
    // One createIndex call per index: FerretDB panics on a createIndexes command with several
    // specs that already exist, which is what every restart would send.
    await users.createIndex({ usernameKey: 1 }, { name: 'usernameKey_unique', unique: true })
    await users.createIndex({ emailKey: 1 }, { name: 'emailKey_unique', unique: true })
    // Serves the default sort (and createdAt ascending, read backwards) with _id as tie-breaker.
    await users.createIndex({ createdAt: -1, _id: -1 }, { name: 'createdAt_id' })
  }

  async function create(input: NewUser): Promise<User> {
    const doc = newUserDocument(input, new ObjectId(), now())
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      try {
        await database(() => users.insertOne(doc))
        return toUser(doc)
      } catch (error) {
        const field = await collidingField(error, { usernameKey: doc.usernameKey, emailKey: doc.emailKey })
        // null: the colliding user was deleted between our insert and the lookup; try again.
        if (field) throw taken(field, doc)
      }
    }
    throw busy()
  }

  async function findOne(filter: Filter<UserDocument>): Promise<User | null> {
    const doc = await database(() => users.findOne(filter))
    return doc && toUser(doc)
  }

  async function list(query: ListUsersQuery, position?: CursorPosition): Promise<UserPage> {
    const filter: Filter<UserDocument> = {}
    if (query.role) filter.role = query.role
    if (query.status) filter.status = query.status
    if (query.q) {
      // Prefix match on the normalized keys: an anchored, case-sensitive regex on a lower-cased
      // field can use the unique indexes on MongoDB, unlike a case-insensitive regex.
      const prefix = new RegExp(`^${escapeRegExp(query.q.toLowerCase())}`)
      filter.$or = [{ usernameKey: prefix }, { emailKey: prefix }]
    }
    const { sort, after } = keyset(query.sort, position)
    const pageFilter = after ? { $and: [filter, after] } : filter
    const [docs, total] = await database(() =>
      Promise.all([
        users
          .find(pageFilter)
          .sort(sort)
          .limit(query.limit + 1)
          .toArray(),
        query.includeTotal ? users.countDocuments(filter) : undefined,
      ]),
    )
    const items = docs.slice(0, query.limit)
    const last = items.at(-1)
    const nextCursor = docs.length > query.limit && last ? encodeCursor(query, positionOf(query, last)) : null
    return { items: items.map(toUser), nextCursor, ...(total !== undefined ? { total } : {}) }
  }

  async function update(
    id: string,
    patch: Omit<UserPatch, 'passwordHash'>,
    options: { ifMatch?: Precondition; hashPassword?: () => Promise<string> } = {},
  ): Promise<UpdateOutcome> {
    const _id = new ObjectId(id)
    const { metadata, ...fields } = patch
    if (metadata === undefined && !options.hashPassword) {
      const updated = await updateInPlace(_id, fields, options.ifMatch)
      if (updated) return { kind: 'updated', user: updated }
      // No write: the user is missing, If-Match failed, nothing differs, or the colliding user
      // vanished. The read below tells which, and applies the patch if a race made it apply now.
    }
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const doc = await database(() => users.findOne({ _id }))
      if (!doc) return { kind: 'not_found' }
      if (options.ifMatch && !ifMatchAllows(options.ifMatch, doc.version)) {
        return { kind: 'precondition_failed', currentVersion: doc.version }
      }
      const passwordHash = options.hashPassword && (await options.hashPassword())
      const changes = changesFor(toUser(doc), { ...patch, ...(passwordHash ? { passwordHash } : {}) })
      if (Object.keys(changes).length === 0) return { kind: 'unchanged', user: toUser(doc) }
      try {
        const updated = await database(() =>
          users.findOneAndUpdate({ _id, version: doc.version }, toUpdate(changes, now()), { returnDocument: 'after' }),
        )
        if (updated) return { kind: 'updated', user: toUser(updated) }
        // Someone changed or deleted the user since we read it: start again from a fresh read,
        // which also re-checks If-Match against the version that won.
      } catch (error) {
        const field = await collidingField(error, keysOf(changes), _id)
        if (field) throw taken(field, { username: changes.username ?? doc.username, email: changes.email ?? doc.email })
      }
    }
    throw busy()
  }

  /**
   * The common PATCH in one round trip: a single `findOneAndUpdate` that matches only when the
   * user exists, If-Match holds, and at least one patched field differs from what is stored, so
   * an unchanged user keeps its version. Returns null when nothing was written.
   */
  async function updateInPlace(
    _id: ObjectId,
    changes: Omit<UserPatch, 'passwordHash' | 'metadata'>,
    ifMatch: Precondition | undefined,
  ): Promise<User | null> {
    const differs: Filter<UserDocument>[] = Object.entries(changes).map(([field, value]) =>
      value === null ? { [field]: { $exists: true } } : { [field]: { $ne: value } },
    )
    if (differs.length === 0) return null
    const filter: Filter<UserDocument> = {
      _id,
      ...(ifMatch && !ifMatch.any ? { version: { $in: ifMatch.strong } } : {}),
      $or: differs,
    }
    try {
      const updated = await database(() => users.findOneAndUpdate(filter, toUpdate(changes, now()), { returnDocument: 'after' }))
      return updated && toUser(updated)
    } catch (error) {
      const field = await collidingField(error, keysOf(changes), _id)
      if (field) throw taken(field, { username: changes.username ?? '', email: changes.email ?? '' })
      return null
    }
  }

  async function remove(id: string, options: { ifMatch?: Precondition } = {}): Promise<DeleteOutcome> {
    const _id = new ObjectId(id)
    const pinned = options.ifMatch && !options.ifMatch.any ? options.ifMatch.strong : undefined
    const { deletedCount } = await database(() => users.deleteOne(pinned ? { _id, version: { $in: pinned } } : { _id }))
    if (deletedCount === 1) return { kind: 'deleted' }
    if (!pinned) return { kind: 'not_found' }
    const current = await database(() => users.findOne({ _id }, { projection: { version: 1 } }))
    return current ? { kind: 'precondition_failed', currentVersion: current.version } : { kind: 'not_found' }
  }

  /**
   * After a failed insert or update: which unique key collided, or null when the colliding user is
   * already gone (the caller retries). Rethrows anything that is not a username/email collision.
   */
  async function collidingField(
    error: unknown,
    keys: { usernameKey?: string; emailKey?: string },
    excludeId?: ObjectId,
  ): Promise<'username' | 'email' | null> {
    if (!isDuplicateKeyError(error)) throw error
    // MongoDB names the index in keyPattern; FerretDB does not, so ask the collection instead.
    if (error.keyPattern) {
      if ('usernameKey' in error.keyPattern) return 'username'
      if ('emailKey' in error.keyPattern) return 'email'
      throw error
    }
    const candidates = [
      ...(keys.usernameKey !== undefined ? [{ usernameKey: keys.usernameKey }] : []),
      ...(keys.emailKey !== undefined ? [{ emailKey: keys.emailKey }] : []),
    ]
    if (candidates.length === 0) throw error
    const other = await database(() =>
      users.findOne(
        { $or: candidates, ...(excludeId ? { _id: { $ne: excludeId } } : {}) },
        { projection: { usernameKey: 1, emailKey: 1 } },
      ),
    )
    if (!other) return null
    return keys.usernameKey !== undefined && other.usernameKey === keys.usernameKey ? 'username' : 'email'
  }

  return {
    ensureIndexes,
    create,
    findById: (id) => findOne({ _id: new ObjectId(id) }),
    findByUsername: (username) => findOne({ usernameKey: username.toLowerCase() }),
    findByEmail: (email) => findOne({ emailKey: email.trim().toLowerCase() }),
    async findCredentials(login) {
      const key = login.trim().toLowerCase()
      // Usernames cannot contain '@', so the login's shape says which key to look up.
      const doc = await database(() => users.findOne(key.includes('@') ? { emailKey: key } : { usernameKey: key }))
      return doc && { user: toUser(doc), passwordHash: doc.passwordHash }
    },
    list,
    update,
    delete: remove,
  }
}

/** Maps a stored document to the API's User. The password hash never leaves this function. */
function toUser(doc: UserDocument): User {
  return {
    id: doc._id.toHexString(),
    username: doc.username,
    email: doc.email,
    ...(doc.displayName !== undefined ? { displayName: doc.displayName } : {}),
    metadata: doc.metadata ?? {},
    role: doc.role,
    status: doc.status,
    hasPassword: typeof doc.passwordHash === 'string',
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
    version: doc.version,
  }
}

function keysOf(changes: UserChanges) {
  return {
    ...(changes.username !== undefined ? { usernameKey: changes.username.toLowerCase() } : {}),
    ...(changes.email !== undefined ? { emailKey: changes.email.toLowerCase() } : {}),
  }
}

function toUpdate(changes: UserChanges, timestamp: Date): UpdateFilter<UserDocument> {
  const { displayName, ...rest } = changes
  const set: Partial<UserDocument> = { ...rest, ...keysOf(changes), updatedAt: timestamp }
  if (displayName !== undefined && displayName !== null) set.displayName = displayName
  return {
    $set: set,
    $inc: { version: 1 },
    ...(displayName === null ? { $unset: { displayName: '' as const } } : {}),
  }
}

/** Sort order and the range condition that starts a page after the cursor's position. */
function keyset(sort: ListUsersQuery['sort'], position?: CursorPosition): { sort: Sort; after?: Filter<UserDocument> } {
  const descending = sort.startsWith('-')
  const op = descending ? '$lt' : '$gt'
  if (sort.endsWith('username')) {
    // usernameKey is unique, so it orders users totally: no tie-breaker needed.
    return {
      sort: { usernameKey: descending ? -1 : 1 },
      ...(position ? { after: { usernameKey: { [op]: position.key } } } : {}),
    }
  }
  const direction = descending ? -1 : 1
  if (!position) return { sort: { createdAt: direction, _id: direction } }
  const createdAt = new Date(position.key)
  const _id = new ObjectId(position.id)
  return {
    sort: { createdAt: direction, _id: direction },
    after: { $or: [{ createdAt: { [op]: createdAt } }, { createdAt, _id: { [op]: _id } }] },
  }
}

function positionOf(query: ListUsersQuery, doc: UserDocument) {
  const key = query.sort.endsWith('username') ? doc.usernameKey : doc.createdAt.toISOString()
  return { key, id: doc._id.toHexString() }
}

function taken(field: 'username' | 'email', values: { username: string; email: string }): AppError {
  const code = field === 'username' ? 'username_taken' : 'email_taken'
  return new AppError(code, `A user with ${field} '${values[field]}' already exists.`, {
    errors: [{ location: 'body', pointer: `/${field}`, code, message: `is already taken (case-insensitively)` }],
  })
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
