import { type Collection, ObjectId } from 'mongodb'
import { toUser } from './users.document'
import { deletedFilter, type ErasedDocument, erasedDocument, isRestorable, releasedKey } from './users.lifecycle.document'
import type { UsersRepository } from './users.model'
import type { User } from './users.schemas'
import { collision, guarded, type Store } from './users.writes'

/**
 * The lifecycle's storage (issue 15): the deleted-user read, soft delete, restore, erase and purge.
 * Each write is one single-document atomic operation on the users collection, correct on MongoDB
 * and FerretDB: the unique indexes decide who gets a name back on restore, and guards in the
 * write's own filter (version, state) settle every other race.
 */
export function createLifecycleStorage(
  store: Store,
): Pick<UsersRepository, 'findAnyById' | 'softDelete' | 'restore' | 'erase' | 'purge'> {
  const { call, users, now } = store
  // An erased user is a tombstone, not a UserDocument: the one place that writes one says so.
  const tombstones = users as unknown as Collection<ErasedDocument>
  return {
    async findAnyById(id) {
      // Exactly `{ _id }`: the only filter FerretDB serves from an index; the state is judged here.
      const doc = await call((limit) => users.findOne({ _id: new ObjectId(id) }, limit))
      if (!doc) return null
      const at = now()
      if (doc.deletedAt === undefined) return toUser(doc, at)
      return isRestorable(doc, at) ? toUser(doc, at) : null
    },

    async softDelete(id, guard, retentionMs) {
      const at = now()
      const _id = new ObjectId(id)
      const { matchedCount } = await call((limit) =>
        users.updateOne(
          guarded(id, guard, at),
          {
            $set: {
              usernameKey: releasedKey(_id),
              emailKey: releasedKey(_id),
              deletedAt: at,
              purgeAt: new Date(at.getTime() + retentionMs),
              updatedAt: at,
            },
            // The externalId key is released too (its index is sparse: a missing key is not indexed);
            // the externalId itself stays, for a restore to take it back.
            $unset: { externalIdKey: '' },
            $inc: { version: 1 },
          },
          limit,
        ),
      )
      return matchedCount === 1
    },

    async restore(user) {
      const at = now()
      const filter = { _id: new ObjectId(user.id), version: user.version, ...deletedFilter(at) }
      const update = restoreUpdate(user, at)
      try {
        const restored = await call((limit) => users.findOneAndUpdate(filter, update, { ...limit, returnDocument: 'after' }))
        return restored ? { kind: 'written', user: toUser(restored, at) } : { kind: 'stale' }
      } catch (error) {
        // The name, the address or the externalId was taken meanwhile: the unique index refused it.
        return (await collision(store, error, user, user.id)) ?? { kind: 'stale' }
      }
    },

    async erase(user, retentionMs) {
      const _id = new ObjectId(user.id)
      const filter = { _id, version: user.version, erasedAt: { $exists: false } }
      if (retentionMs === 0) {
        return (await call((limit) => users.deleteOne(filter, limit))).deletedCount === 1
      }
      const tombstone = erasedDocument(
        {
          _id,
          createdAt: new Date(user.createdAt),
          version: user.version,
          ...(user.deletedAt ? { deletedAt: new Date(user.deletedAt) } : {}),
          ...(user.purgeAt ? { purgeAt: new Date(user.purgeAt) } : {}),
        },
        now(),
        retentionMs,
      )
      return (await call((limit) => tombstones.replaceOne(filter, tombstone, limit))).matchedCount === 1
    },

    async purge() {
      const { deletedCount } = await call((limit) => users.deleteMany({ purgeAt: { $lte: now() } }, limit))
      return deletedCount
    },
  }
}

/** Restore's update: the unique keys back (the externalId's too, when the user has one; a key taken meanwhile is refused by its index), live again, the next version. */
function restoreUpdate(user: User, at: Date) {
  return {
    $set: {
      usernameKey: user.username.toLowerCase(),
      emailKey: user.email.toLowerCase(),
      ...(user.externalId !== undefined ? { externalIdKey: user.externalId } : {}),
      updatedAt: at,
    },
    $unset: { deletedAt: '', purgeAt: '' } as const,
    $inc: { version: 1 },
  }
}
