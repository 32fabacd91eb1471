import { type Collection, type Db, MongoBulkWriteError, ObjectId } from 'mongodb'
import { database, isDuplicateKeyError } from '../db/errors'
import type { NewUser } from '../users/users.model'
import { newUserDocument, USERS_COLLECTION, type UserDocument } from '../users/users.repository'
import type { SourcePosition } from './legacy.source.repository'

/**
 * Where the legacy import writes: the service's own `users` collection (documents built by the
 * users repository's `newUserDocument`, so they are stored exactly like API-created users, unique
 * indexes included) and a checkpoint per source. It only ever inserts: a user already in the
 * target is never overwritten, whoever put it there.
 */

export type ImportCandidate = { targetId: string; user: NewUser; createdAt: Date }

export type ImportOutcome =
  | { kind: 'imported' }
  /** A user with this id is already there: this import (or an earlier run of it) put it there. */
  | { kind: 'already_imported' }
  | { kind: 'conflict'; field: 'username' | 'email'; otherId: string }

export type ImportTarget = {
  /** Inserts what it can, in one round trip for the batch; the outcome of each candidate, in order. */
  insert(candidates: ImportCandidate[]): Promise<ImportOutcome[]>
  /** Whether a user with this id is there (a point read on `_id`, indexed on every server). */
  exists(targetId: string): Promise<boolean>
  /** What `insert` would answer, read-only (for --dry-run). */
  preview(candidates: ImportCandidate[]): Promise<ImportOutcome[]>
  loadCheckpoint(source: string): Promise<SourcePosition | undefined>
  saveCheckpoint(source: string, position: SourcePosition): Promise<void>
}

type CheckpointDocument = { _id: string; after: unknown; updatedAt: Date }

/** A collision whose other user vanished before we looked it up is retried this many times. */
const MAX_ATTEMPTS = 3

export function createImportTarget(db: Db, options: { clock?: () => Date } = {}): ImportTarget {
  const users: Collection<UserDocument> = db.collection<UserDocument>(USERS_COLLECTION)
  const checkpoints = db.collection<CheckpointDocument>('legacy_import_checkpoints')
  const now = options.clock ?? (() => new Date())

  const toDocument = (candidate: ImportCandidate, importedAt: Date) =>
    newUserDocument(candidate.user, new ObjectId(candidate.targetId), candidate.createdAt, importedAt)

  /** Why `doc` could not be inserted, or null when nothing stands in its way any more. */
  async function obstacle(doc: UserDocument): Promise<Exclude<ImportOutcome, { kind: 'imported' }> | null> {
    // Same id first: ObjectIds are unique by construction, so a user with this id came from this source.
    if (await database(() => users.findOne({ _id: doc._id }, { projection: { _id: 1 } }))) return { kind: 'already_imported' }
    const other = await database(() =>
      users.findOne(
        { $or: [{ usernameKey: doc.usernameKey }, { emailKey: doc.emailKey }] },
        { projection: { usernameKey: 1, emailKey: 1 } },
      ),
    )
    if (!other) return null
    return {
      kind: 'conflict',
      field: other.usernameKey === doc.usernameKey ? 'username' : 'email',
      otherId: other._id.toHexString(),
    }
  }

  async function insertOneResolved(doc: UserDocument): Promise<ImportOutcome> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const blocked = await obstacle(doc)
      if (blocked) return blocked
      try {
        await database(() => users.insertOne(doc))
        return { kind: 'imported' }
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error
      }
    }
    throw new Error(`user ${doc._id.toHexString()} kept colliding with users that then disappeared; run the import again`)
  }

  return {
    async insert(candidates) {
      if (candidates.length === 0) return []
      const importedAt = now()
      const docs = candidates.map((candidate) => toDocument(candidate, importedAt))
      const failed = new Set<number>()
      try {
        // Unordered: one collision must not stop the rest of the batch.
        await database(() => users.insertMany(docs, { ordered: false }))
      } catch (error) {
        if (!(error instanceof MongoBulkWriteError)) throw error
        const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]
        for (const writeError of writeErrors) {
          if (writeError.code !== 11000 && writeError.code !== 11001) throw error
          failed.add(writeError.index)
        }
      }
      const outcomes: ImportOutcome[] = []
      // Collisions are rare (a re-run batch, a user already created through the API): resolve them one by one.
      for (const [index, doc] of docs.entries())
        outcomes.push(failed.has(index) ? await insertOneResolved(doc) : { kind: 'imported' })
      return outcomes
    },

    async exists(targetId) {
      return (await database(() => users.findOne({ _id: new ObjectId(targetId) }, { projection: { _id: 1 } }))) !== null
    },

    async preview(candidates) {
      if (candidates.length === 0) return []
      const docs = candidates.map((candidate) => toDocument(candidate, now()))
      const found = await database(() =>
        users
          .find(
            {
              $or: [
                { _id: { $in: docs.map((d) => d._id) } },
                { usernameKey: { $in: docs.map((d) => d.usernameKey) } },
                { emailKey: { $in: docs.map((d) => d.emailKey) } },
              ],
            },
            { projection: { usernameKey: 1, emailKey: 1 } },
          )
          .toArray(),
      )
      const byId = new Set(found.map((f) => f._id.toHexString()))
      const byUsername = new Map(found.map((f) => [f.usernameKey, f._id.toHexString()]))
      const byEmail = new Map(found.map((f) => [f.emailKey, f._id.toHexString()]))
      return docs.map((doc): ImportOutcome => {
        if (byId.has(doc._id.toHexString())) return { kind: 'already_imported' }
        const username = byUsername.get(doc.usernameKey)
        if (username) return { kind: 'conflict', field: 'username', otherId: username }
        const email = byEmail.get(doc.emailKey)
        if (email) return { kind: 'conflict', field: 'email', otherId: email }
        return { kind: 'imported' }
      })
    },

    async loadCheckpoint(source) {
      const checkpoint = await database(() => checkpoints.findOne({ _id: source }))
      return checkpoint ? { raw: checkpoint.after } : undefined
    },

    async saveCheckpoint(source, position) {
      await database(() =>
        checkpoints.updateOne({ _id: source }, { $set: { after: position.raw, updatedAt: now() } }, { upsert: true }),
      )
    },
  }
}
