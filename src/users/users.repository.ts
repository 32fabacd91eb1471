import { type Collection, type Filter, ObjectId } from 'mongodb'
import type { DatabaseHandle } from '../db/calls'
import { ensureIndexes, type IndexSpec } from '../db/indexes'
import { type Conflict, conflict } from '../errors'
import { hasStatus } from './users.disabled.document'
import { type StoredUser, toUser, USERS_COLLECTION, type UserDocument, WITHOUT_OUTBOX } from './users.document'
import { NOT_DELETED } from './users.lifecycle.document'
import { createLifecycleStorage } from './users.lifecycle.writes'
import type { ImportedUser, ImportOutcome, StoredQueryTerms, UsersRepository } from './users.model'
import type { WrittenCopy } from './users.outbox.repository'
import { pageQuery, toPage } from './users.pagination'
import type { User } from './users.schemas'
import { createSignInWrites } from './users.signin.writes'
import { createUserWrites } from './users.writes'

/**
 * Users on MongoDB: the reads here, paging in users.pagination.ts, writes in users.writes.ts, the
 * stored shape in users.document.ts. It speaks the API's types (string ids, ISO dates) to its
 * callers and keeps `ObjectId`, `Date`, normalized keys and the password hash to itself.
 * Everything here is correct on MongoDB and on FerretDB: uniqueness comes from unique indexes on
 * normalized keys, every write is a single-document atomic operation, and nothing relies on
 * transactions, collations or partial/TTL indexes. Every call passes the handle's time limit.
 */
export function createUsersRepository(
  database: DatabaseHandle,
  options: {
    clock?: () => Date
    /** Told the id of each user a change is written to, with the document stored when the write has it (the events relay's hint: src/stores.ts wires it). */
    onChange?: (id: string, written?: WrittenCopy) => void
  } = {},
): UsersRepository {
  const { call } = database
  const users = database.db.collection<UserDocument>(USERS_COLLECTION)
  const now = options.clock ?? (() => new Date())
  const store = { call, users, now, changed: options.onChange ?? (() => {}) }

  // A deleted or erased user is not found: the filter stays exactly `{ _id }` for reads by id (the
  // only shape FerretDB serves from an index), and released keys never match a username or email.
  async function findOne(filter: Filter<UserDocument>) {
    const doc = await call((limit) => users.findOne<StoredUser>(filter, { ...limit, ...WITHOUT_OUTBOX }))
    return doc && doc.deletedAt === undefined ? toUser(doc, now()) : null
  }

  return {
    ensureIndexes: () => ensureIndexes(database, users, USER_INDEXES),
    findById: (id) => findOne({ _id: new ObjectId(id) }),
    findByUsername: (username) => findOne({ usernameKey: username.toLowerCase() }),
    findByEmail: (email) => findOne({ emailKey: email.trim().toLowerCase() }),
    async findCredentials(login) {
      const key = login.trim().toLowerCase()
      // A login with '@' names an email first: usernames may look like emails (API.md v1.1), and
      // one login must name one user. Both candidates come in one find; the email's wins. A deleted
      // user's keys are released, so it is never a candidate (deletedAt is checked all the same:
      // logins are not validated against the released keys' form).
      if (!key.includes('@')) {
        const doc = await call((limit) => users.findOne<StoredUser>({ usernameKey: key }, { ...limit, ...WITHOUT_OUTBOX }))
        return doc && doc.deletedAt === undefined ? { user: toUser(doc, now()), passwordHash: doc.passwordHash } : null
      }
      const found = await call((limit) =>
        users
          .find<StoredUser>({ $or: [{ emailKey: key }, { usernameKey: key }] }, { ...limit, ...WITHOUT_OUTBOX })
          .limit(2)
          .toArray(),
      )
      const doc = found.find((candidate) => candidate.emailKey === key) ?? found[0]
      return doc && doc.deletedAt === undefined ? { user: toUser(doc, now()), passwordHash: doc.passwordHash } : null
    },
    findTaken: (values, exceptId) => findTaken(database, users, values, exceptId),
    async list(query) {
      const at = now()
      const page = pageQuery(query, at)
      const [docs, total] = await call((limit) =>
        Promise.all([
          users
            .find<StoredUser>(page.filter, { ...limit, ...WITHOUT_OUTBOX })
            .sort(page.sort)
            .limit(page.limit)
            .toArray(),
          query.includeTotal ? users.countDocuments(page.countFilter, limit) : undefined,
        ]),
      )
      return toPage(query, docs, total, at)
    },
    findByQuery: (build, page) => findByQuery(database, users, now(), build, page),
    async exists(id) {
      return (await call((limit) => users.findOne({ _id: new ObjectId(id) }, { ...limit, projection: { _id: 1 } }))) !== null
    },
    previewImported: (batch) => previewImported(database, users, batch),
    ...createUserWrites(store),
    ...createLifecycleStorage(store),
    ...createSignInWrites(database, users),
  }
}

/** UsersRepository.findByQuery: one find, and one count only when the page cannot tell the total. */
async function findByQuery(
  { call }: DatabaseHandle,
  users: Collection<UserDocument>,
  at: Date,
  ...[build, page]: Parameters<UsersRepository['findByQuery']>
): Promise<{ items: User[]; total: number }> {
  const query = build(queryTerms(at))
  if (query === 'none') return { items: [], total: 0 }
  // The terms name no `deletedAt`, so the condition cannot collide with the query's own fields.
  const filter = { ...query, ...NOT_DELETED } as Filter<UserDocument>
  const count = () => call((limit) => users.countDocuments(filter, limit))
  if (page.limit === 0) return { items: [], total: await count() }
  // Served by the createdAt_id index read backwards; _id makes the order total, so pages never overlap.
  const docs = await call((limit) =>
    users
      .find<StoredUser>(filter, { ...limit, ...WITHOUT_OUTBOX })
      .sort({ createdAt: 1, _id: 1 })
      .skip(page.offset)
      .limit(page.limit)
      .toArray(),
  )
  // A page that is not full, and not past the end, ends the result: it tells the total itself.
  const last = docs.length > 0 && docs.length < page.limit
  const total = last || (page.offset === 0 && docs.length === 0) ? page.offset + docs.length : await count()
  return { items: docs.map((doc) => toUser(doc, at)), total }
}

/** The storage's words for a query written elsewhere (StoredQueryTerms), at `now`. */
function queryTerms(now: Date): StoredQueryTerms {
  return {
    fields: { usernameKey: 'usernameKey', emailKey: 'emailKey', externalIdKey: 'externalIdKey', displayName: 'displayName' },
    id: (hex) => ({ _id: new ObjectId(hex) }),
    status: (status) => hasStatus(status, now),
  }
}

/** Who already holds a username, an email or an externalId (three users at most); username first, then email. */
async function findTaken(
  { call }: DatabaseHandle,
  users: Collection<UserDocument>,
  values: { username?: string; email?: string; externalId?: string },
  exceptId?: string,
): Promise<Conflict | null> {
  const usernameKey = values.username?.toLowerCase()
  const emailKey = values.email?.toLowerCase()
  const externalIdKey = values.externalId
  const either = [
    ...(usernameKey !== undefined ? [{ usernameKey }] : []),
    ...(emailKey !== undefined ? [{ emailKey }] : []),
    ...(externalIdKey !== undefined ? [{ externalIdKey }] : []),
  ]
  if (either.length === 0) return null
  const filter = { $or: either, ...(exceptId ? { _id: { $ne: new ObjectId(exceptId) } } : {}) }
  const found = await call((limit) =>
    users
      .find(filter, { ...limit, projection: { usernameKey: 1, emailKey: 1, externalIdKey: 1 } })
      .limit(3)
      .toArray(),
  )
  if (values.username !== undefined && found.some((doc) => doc.usernameKey === usernameKey)) {
    return conflict('username', values.username)
  }
  if (values.email !== undefined && found.some((doc) => doc.emailKey === emailKey)) return conflict('email', values.email)
  return values.externalId !== undefined && found.length > 0 ? conflict('externalId', values.externalId) : null
}

/** What the import's insert would answer, from one read of the ids, usernames and emails involved. */
async function previewImported(
  { call }: DatabaseHandle,
  users: Collection<UserDocument>,
  batch: ImportedUser[],
): Promise<ImportOutcome[]> {
  if (batch.length === 0) return []
  const ids = batch.map(({ id }) => new ObjectId(id))
  const usernameKeys = batch.map(({ user }) => user.username.toLowerCase())
  const emailKeys = batch.map(({ user }) => user.email.toLowerCase())
  const found = await call((limit) =>
    users
      .find(
        { $or: [{ _id: { $in: ids } }, { usernameKey: { $in: usernameKeys } }, { emailKey: { $in: emailKeys } }] },
        { ...limit, projection: { usernameKey: 1, emailKey: 1 } },
      )
      .toArray(),
  )
  const byId = new Set(found.map((f) => f._id.toHexString()))
  const byUsername = new Map(found.map((f) => [f.usernameKey, f._id.toHexString()]))
  const byEmail = new Map(found.map((f) => [f.emailKey, f._id.toHexString()]))
  return batch.map(({ id }, i): ImportOutcome => {
    if (byId.has(id)) return { kind: 'already_imported' }
    const username = byUsername.get(usernameKeys[i] ?? '')
    if (username) return { kind: 'conflict', field: 'username', otherId: username }
    const email = byEmail.get(emailKeys[i] ?? '')
    if (email) return { kind: 'conflict', field: 'email', otherId: email }
    return { kind: 'imported' }
  })
}

/** The users' indexes (src/db/indexes.ts creates those missing at startup). */
const USER_INDEXES: readonly IndexSpec[] = [
  { key: { usernameKey: 1 }, name: 'usernameKey_unique', unique: true },
  { key: { emailKey: 1 }, name: 'emailKey_unique', unique: true },
  // Sparse: users without an externalId (most) have no key, and MongoDB would otherwise index
  // each as null and let only one exist. FerretDB v1 accepts the option (and never indexes a
  // missing field anyway; it does not list the option either, so this one is sent at every start);
  // partial indexes, the other way, it refuses.
  { key: { externalIdKey: 1 }, name: 'externalIdKey_unique', unique: true, sparse: true },
  // Serves the default sort (and createdAt ascending, read backwards) with _id as tie-breaker.
  { key: { createdAt: -1, _id: -1 }, name: 'createdAt_id' },
  // The purge sweeper's deleteMany on { purgeAt: { $lte: now } }.
  { key: { purgeAt: 1 }, name: 'purgeAt' },
  // The events relay's look for users with pending events, oldest first. Sparse: only those
  // users have the field (it is removed once their outbox is empty).
  { key: { outboxSince: 1 }, name: 'outboxSince', sparse: true },
]
