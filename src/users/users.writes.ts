import type { DatabaseHandle } from '../db/calls'
import { type Collection, type Filter, MongoBulkWriteError, ObjectId } from '../db/driver'
import { isDuplicateKeyError } from '../db/errors'
import { type Conflict, conflict, UnavailableError } from '../errors'
import { hasStatus } from './users.disabled.document'
import { keysOf, newUserDocument, toUpdate, toUser, type UserDocument } from './users.document'
import { NOT_DELETED } from './users.lifecycle.document'
import type {
  ImportedUser,
  ImportOutcome,
  NewUser,
  PlainChanges,
  UserChanges,
  UsersRepository,
  WriteGuard,
  Written,
} from './users.model'
import { changeEvent, createdOutbox, outboxOpen, withEvent } from './users.outbox.document'
import type { WrittenCopy } from './users.outbox.repository'
import { writeChange } from './users.outbox.writes'

/** Bounds the retries of a write whose colliding user vanished before it could be named. */
const MAX_WRITE_ATTEMPTS = 50

/**
 * What every write works with: the handle's calls, the collection, the clock, and who to tell of a
 * change (the relay's hint), with the document the write stored when it has it.
 */
export type Store = {
  call: DatabaseHandle['call']
  users: Collection<UserDocument>
  now: () => Date
  changed: (id: string, written?: WrittenCopy) => void
}

/**
 * The users repository's writes. Each is one single-document atomic operation (or an unordered
 * insertMany), correct on MongoDB and on FerretDB: uniqueness comes from the unique indexes on the
 * normalized keys (never check-then-insert), guards are part of the write's filter (never
 * check-then-write), and a duplicate-key error is turned into the field that collided here. Each
 * change records its event in its own write (the outbox, users.outbox.document.ts).
 */
export function createUserWrites(
  store: Store,
): Pick<UsersRepository, 'create' | 'updateInPlace' | 'updateAtVersion' | 'insertImported'> {
  return {
    create: (input) => create(store, input),
    updateInPlace: (id, fields, guard, alongside) => updateInPlace(store, id, fields, guard, alongside),
    updateAtVersion: (id, version, changes) => updateAtVersion(store, id, version, changes),
    insertImported: (batch) => insertImported(store, batch),
  }
}

/** A new user's document with its outbox: the user.created event, written by the same insert. */
function withCreatedEvent(user: UserDocument, at: Date): UserDocument {
  return { ...user, ...createdOutbox(user, at) }
}

async function create(store: Store, input: NewUser): Promise<Written> {
  const at = store.now()
  const doc = withCreatedEvent(newUserDocument(input, new ObjectId(), at), at)
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    try {
      const sentAt = performance.now()
      await store.call((limit) => store.users.insertOne(doc, limit))
      store.changed(doc._id.toHexString(), { doc, sentAt })
      return { kind: 'written', user: toUser(doc, store.now()) }
    } catch (error) {
      const taken = await collision(store, error, input)
      // null: the colliding user was deleted between our insert and the lookup; try again.
      if (taken) return taken
    }
  }
  throw busy()
}

async function updateInPlace(
  store: Store,
  id: string,
  fields: PlainChanges,
  guard: WriteGuard,
  alongside: PlainChanges = {},
): Promise<Written | { kind: 'not_written' }> {
  const now = store.now()
  const differs = Object.entries(fields).map(([field, value]) => differsFrom(field, value, now))
  if (differs.length === 0) return { kind: 'not_written' }
  // A user without a base (stored before events existed) or with a full outbox is not written
  // here: the caller's read-then-write path (updateAtVersion) deals with both.
  const filter: Filter<UserDocument> = { ...guarded(id, guard, now), ...outboxOpen(now), $or: differs }
  const changes = { ...alongside, ...fields }
  const update = withEvent(toUpdate(changes, now), changeEvent('user.updated', now, changes))
  try {
    const sentAt = performance.now()
    const updated = await store.call((limit) =>
      store.users.findOneAndUpdate(filter, update, { ...limit, returnDocument: 'after' }),
    )
    if (!updated) return { kind: 'not_written' }
    store.changed(id, { doc: updated, sentAt })
    return { kind: 'written', user: toUser(updated, now) }
  } catch (error) {
    return (await collision(store, error, fields, id)) ?? { kind: 'not_written' }
  }
}

/** The filter matching a stored user whose `field` differs from `value` (`null`: is present). */
function differsFrom(field: string, value: unknown, now: Date): Filter<UserDocument> {
  if (value === null) return { [field]: { $exists: true } }
  // A status is compared as it is now: a disable that has run out is already active.
  if (field === 'status') return hasStatus(value === 'active' ? 'disabled' : 'active', now)
  // A user stored before emailVerified existed has it false.
  if (field === 'emailVerified' && value === false) return { emailVerified: true }
  return { [field]: { $ne: value } }
}

async function updateAtVersion(
  store: Store,
  id: string,
  version: number,
  changes: UserChanges,
): Promise<Written | { kind: 'stale' }> {
  try {
    const now = store.now()
    const update = withEvent(toUpdate(changes, now), changeEvent('user.updated', now, changes))
    const updated = await writeChange(
      store,
      id,
      () =>
        store.call((limit) =>
          store.users.findOneAndUpdate({ _id: new ObjectId(id), version, ...outboxOpen(now) }, update, {
            ...limit,
            returnDocument: 'after',
          }),
        ),
      (doc) => doc,
    )
    // Someone changed or deleted the user since the version was read.
    return updated ? { kind: 'written', user: toUser(updated, now) } : { kind: 'stale' }
  } catch (error) {
    // A colliding user that vanished: the caller's fresh read goes round again.
    return (await collision(store, error, changes, id)) ?? { kind: 'stale' }
  }
}

/**
 * After a failed write: the conflict on the unique key that collided, or null when the colliding
 * user is already gone (the caller retries). Rethrows anything that is not a username/email collision.
 */
export async function collision(
  { call, users }: Store,
  error: unknown,
  values: { username?: string; email?: string; externalId?: string | null },
  exceptId?: string,
): Promise<Conflict | null> {
  if (!isDuplicateKeyError(error)) throw error
  const keys = keysOf(values)
  // MongoDB names the index in keyPattern; FerretDB does not, so ask the collection instead.
  if (error.keyPattern) {
    if ('usernameKey' in error.keyPattern && values.username !== undefined) return conflict('username', values.username)
    if ('emailKey' in error.keyPattern && values.email !== undefined) return conflict('email', values.email)
    if ('externalIdKey' in error.keyPattern && typeof values.externalId === 'string') {
      return conflict('externalId', values.externalId)
    }
    throw error
  }
  const candidates = [
    ...(keys.usernameKey !== undefined ? [{ usernameKey: keys.usernameKey }] : []),
    ...(keys.emailKey !== undefined ? [{ emailKey: keys.emailKey }] : []),
    ...(typeof keys.externalIdKey === 'string' ? [{ externalIdKey: keys.externalIdKey }] : []),
  ]
  if (candidates.length === 0) throw error
  const other = await call((limit) =>
    users.findOne(
      { $or: candidates, ...(exceptId ? { _id: { $ne: new ObjectId(exceptId) } } : {}) },
      { ...limit, projection: { usernameKey: 1, emailKey: 1, externalIdKey: 1 } },
    ),
  )
  if (!other) return null
  if (keys.usernameKey !== undefined && other.usernameKey === keys.usernameKey) return conflict('username', values.username ?? '')
  if (keys.emailKey !== undefined && other.emailKey === keys.emailKey) return conflict('email', values.email ?? '')
  return conflict('externalId', keys.externalIdKey ?? '')
}

/**
 * The filter of a guarded write on one user: never a deleted user (users.lifecycle.writes.ts writes
 * those), and the status is the one the user has at `now`.
 */
export function guarded(id: string, guard: WriteGuard, now: Date): Filter<UserDocument> {
  return {
    _id: new ObjectId(id),
    ...NOT_DELETED,
    ...(guard.versions ? { version: { $in: [...guard.versions] } } : {}),
    ...(guard.role ? { role: guard.role } : {}),
    ...(guard.status ? { $and: [hasStatus(guard.status, now)] } : {}),
    ...(guard.username !== undefined ? { usernameKey: keysOf({ username: guard.username }).usernameKey } : {}),
  }
}

const busy = () => new UnavailableError('The user is being changed by many requests at once; retry shortly.', 1)

/** A collision whose other user vanished before the import looked it up is retried this many times. */
const MAX_IMPORT_ATTEMPTS = 3

/**
 * The import's batch insert: unordered (one collision must not stop the rest of the batch), then
 * each collision resolved on its own. It only ever inserts: a user already there is never
 * overwritten, whoever put it there.
 */
async function insertImported({ call, users, now, changed }: Store, batch: ImportedUser[]): Promise<ImportOutcome[]> {
  if (batch.length === 0) return []
  const importedAt = now()
  // Each with its user.created event, at the time of the import.
  const docs = batch.map(({ id, user, createdAt }) =>
    withCreatedEvent(newUserDocument(user, new ObjectId(id), createdAt, importedAt), importedAt),
  )
  const failed = new Set<number>()
  try {
    await call((limit) => users.insertMany(docs, { ...limit, ordered: false }))
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]
    for (const writeError of writeErrors) {
      if (writeError.code !== 11000 && writeError.code !== 11001) throw error
      failed.add(writeError.index)
    }
  }
  /** Why `doc` could not be inserted, or null when nothing stands in its way any more. */
  const obstacle = async (doc: UserDocument): Promise<Exclude<ImportOutcome, { kind: 'imported' }> | null> => {
    // Same id first: ObjectIds are unique by construction, so a user with this id came from this source.
    if (await call((limit) => users.findOne({ _id: doc._id }, { ...limit, projection: { _id: 1 } }))) {
      return { kind: 'already_imported' }
    }
    const other = await call((limit) =>
      users.findOne(
        { $or: [{ usernameKey: doc.usernameKey }, { emailKey: doc.emailKey }] },
        { ...limit, projection: { usernameKey: 1, emailKey: 1 } },
      ),
    )
    if (!other) return null
    const field = other.usernameKey === doc.usernameKey ? 'username' : 'email'
    return { kind: 'conflict', field, otherId: other._id.toHexString() }
  }
  const resolve = async (doc: UserDocument): Promise<ImportOutcome> => {
    for (let attempt = 1; attempt <= MAX_IMPORT_ATTEMPTS; attempt++) {
      const blocked = await obstacle(doc)
      if (blocked) return blocked
      try {
        await call((limit) => users.insertOne(doc, limit))
        return { kind: 'imported' }
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error
      }
    }
    throw new Error(`user ${doc._id.toHexString()} kept colliding with users that then disappeared; run the import again`)
  }
  const outcomes: ImportOutcome[] = []
  // Collisions are rare (a re-run batch, a user already created through the API): resolve them one by one.
  for (const [index, doc] of docs.entries()) outcomes.push(failed.has(index) ? await resolve(doc) : { kind: 'imported' })
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.kind === 'imported') changed((docs[index] as UserDocument)._id.toHexString())
  }
  return outcomes
}
