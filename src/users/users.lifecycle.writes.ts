import { type Collection, type Filter, ObjectId } from '../db/driver'
import { type StoredUser, toUser, type UserDocument, WITHOUT_OUTBOX } from './users.document'
import { deletedFilter, type ErasedDocument, erasedDocument, isRestorable, releasedKey } from './users.lifecycle.document'
import type { UsersRepository, WriteGuard } from './users.model'
import { changeEvent, erasedOutbox, outboxAsRead, outboxOpen, withEvent } from './users.outbox.document'
import { writeChange } from './users.outbox.writes'
import type { User } from './users.schemas'
import { collision, guarded, type Store } from './users.writes'

/**
 * The lifecycle's storage (issue 15): the deleted-user read, soft delete, restore, erase and purge.
 * Each write is one single-document atomic operation on the users collection, correct on MongoDB
 * and FerretDB: the unique indexes decide who gets a name back on restore, and guards in the
 * write's own filter (version, state) settle every other race. Each records its event in the
 * same write (users.outbox.document.ts). A delete for good (USER_RETENTION_DAYS=0) is a soft
 * delete purged at once: the document stays, unreadable, until the relay has taken its event.
 */
export function createLifecycleStorage(
  store: Store,
): Pick<UsersRepository, 'findAnyById' | 'delete' | 'softDelete' | 'restore' | 'erase' | 'purge'> {
  const { call, users, now } = store
  return {
    async findAnyById(id) {
      // Exactly `{ _id }`: the only filter FerretDB serves from an index; the state is judged here.
      const doc = await call((limit) => users.findOne<StoredUser>({ _id: new ObjectId(id) }, { ...limit, ...WITHOUT_OUTBOX }))
      if (!doc) return null
      const at = now()
      if (doc.deletedAt === undefined) return toUser(doc, at)
      return isRestorable(doc, at) ? toUser(doc, at) : null
    },

    delete: (id, guard) => softDelete(store, id, guard, 0),
    softDelete: (id, guard, retentionMs) => softDelete(store, id, guard, retentionMs),

    async restore(user) {
      const at = now()
      const filter = { _id: new ObjectId(user.id), version: user.version, ...deletedFilter(at), ...outboxOpen(at) }
      const update = withEvent(restoreUpdate(user, at), changeEvent('user.restored', at, { deletedAt: null, purgeAt: null }))
      try {
        const restored = await writeChange(
          store,
          user.id,
          () => call((limit) => users.findOneAndUpdate(filter, update, { ...limit, returnDocument: 'after' })),
          (doc) => doc,
        )
        return restored ? { kind: 'written', user: toUser(restored, at) } : { kind: 'stale' }
      } catch (error) {
        // The name, the address or the externalId was taken meanwhile: the unique index refused it.
        return (await collision(store, error, user, user.id)) ?? { kind: 'stale' }
      }
    },

    erase: (user, retentionMs, whileHeld) => erase(store, user, retentionMs, whileHeld),

    async purge() {
      // Never a user whose events are still pending: they are relayed first.
      const due = { purgeAt: { $lte: now() }, 'pendingEvents.0': { $exists: false } }
      const { deletedCount } = await call((limit) => users.deleteMany(due, limit))
      return deletedCount
    },
  }
}

/** Bounds the erase's rounds of read and replace (only the relay, taking events off, moves the document then). */
const MAX_ERASE_ROUNDS = 20

/**
 * Erase: the document replaced by its tombstone, its outbox kept with ids only, plus user.erased.
 * First one write holds changes off (`erasingAt`, in every change's filter), guarded by the logins
 * of `user` (a change of other fields since the read does not stop it, so a busy user is still
 * erased); then the user is read as held, and `whileHeld` decides on that frozen user (If-Match,
 * the other stores forgetting it): false releases the hold and erases nothing. Then the document
 * is replaced as read: same version, same outbox (the relay taking an event off in between makes
 * it read again). False when the user is gone, erased, no longer has those logins, or `whileHeld`
 * said no: the caller tells which.
 */
async function erase(
  store: Store,
  user: User,
  retentionMs: number,
  whileHeld: (held: User) => Promise<boolean> = async () => true,
): Promise<boolean> {
  const _id = new ObjectId(user.id)
  const live = { _id, erasedAt: { $exists: false } }
  const hold = { ...live, username: user.username, email: user.email }
  const held = await store.call((limit) =>
    store.users.findOneAndUpdate(hold, { $set: { erasingAt: store.now() } }, { ...limit, returnDocument: 'after' }),
  )
  if (!held) return false
  const release = () => store.call((limit) => store.users.updateOne(live, { $unset: { erasingAt: '' } }, limit))
  let proceed: boolean
  try {
    proceed = await whileHeld(toUser(held, store.now()))
  } catch (error) {
    // Nothing erased: changes may go on at once rather than when the hold lapses.
    await release().catch(() => {})
    throw error
  }
  if (!proceed) {
    await release()
    return false
  }
  return replaceByTombstone(store, held, retentionMs)
}

/**
 * The erase's second half, under its hold: the document replaced as read (see erase), first as
 * the hold returned it, then as read again when the relay took an event off meanwhile.
 */
async function replaceByTombstone(store: Store, held: UserDocument, retentionMs: number): Promise<boolean> {
  const { _id } = held
  const live = { _id, erasedAt: { $exists: false } }
  // An erased user is a tombstone, not a UserDocument: the one place that writes one says so.
  const tombstones = store.users as unknown as Collection<ErasedDocument>
  let doc: UserDocument | null = held
  for (let round = 1; round <= MAX_ERASE_ROUNDS; round++) {
    if (round > 1) doc = await store.call((limit) => store.users.findOne({ _id }, limit))
    if (!doc || doc.erasedAt !== undefined) return false
    const at = store.now()
    const tombstone = erasedDocument(
      {
        _id,
        createdAt: doc.createdAt,
        version: doc.version,
        ...(doc.deletedAt ? { deletedAt: doc.deletedAt } : {}),
        // With a retention of 0 the tombstone is purged at once (once its events are relayed).
        ...(doc.purgeAt && retentionMs > 0 ? { purgeAt: doc.purgeAt } : {}),
      },
      at,
      retentionMs,
    )
    const erased = { ...tombstone, ...erasedOutbox(doc, changeEvent('user.erased', at)) }
    // Not refused when the outbox is full: an erasure must happen, and what it adds holds ids only.
    const asRead = { ...live, version: doc.version, ...outboxAsRead(doc.pendingEvents ?? []) } as Filter<ErasedDocument>
    if ((await store.call((limit) => tombstones.replaceOne(asRead, erased, limit))).matchedCount === 1) {
      store.changed(_id.toHexString())
      return true
    }
  }
  return false
}

/**
 * Soft delete: releases the unique keys, keeps the rest for a restore until `purgeAt`, and
 * records user.deleted; guarded by `guard` and the outbox (users.outbox.writes.ts).
 */
async function softDelete(store: Store, id: string, guard: WriteGuard, retentionMs: number): Promise<boolean> {
  const at = store.now()
  const _id = new ObjectId(id)
  const purgeAt = new Date(at.getTime() + retentionMs)
  const update = {
    $set: { usernameKey: releasedKey(_id), emailKey: releasedKey(_id), deletedAt: at, purgeAt, updatedAt: at },
    // The externalId key is released too (its index is sparse: a missing key is not indexed);
    // the externalId itself stays, for a restore to take it back.
    $unset: { externalIdKey: '' } as const,
    $inc: { version: 1 },
  }
  const event = changeEvent('user.deleted', at, { deletedAt: at.toISOString(), purgeAt: purgeAt.toISOString() })
  const filter = { ...guarded(id, guard, at), ...outboxOpen(at) }
  const written = await writeChange(store, id, async () =>
    (await store.call((limit) => store.users.updateOne(filter, withEvent(update, event), limit))).matchedCount === 1
      ? true
      : null,
  )
  return written === true
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
