import { ObjectId } from '../db/driver'
import { UnavailableError } from '../errors'
import type { UserDocument } from './users.document'
import { heldForErase, OUTBOX_CAP, snapshotOf } from './users.outbox.document'
import type { Store } from './users.writes'

/**
 * What a change's write does when it matched nothing and the outbox may be why (docs/events.md):
 * every change's filter carries outboxOpen(), so a write also misses on a full outbox and on a
 * user stored before events existed (no `eventBase`). Called only on a miss, never on the
 * success path: one point read, and for such an old user one write that records its base.
 */

/** 503: an erase holds the user's changes off (a retry finds it gone); every round would miss until then. */
const beingErased = () => new UnavailableError('This user is being erased; retry shortly (it will then be gone).', 1)

/** 503: the relay is far behind for this user (OUTBOX_CAP events wait); retrying later succeeds. */
export const outboxFull = () =>
  new UnavailableError('Too many changes to this user are waiting to be published as events; retry shortly.', 2)

/**
 * Why the change's write on `id` matched nothing, as far as the outbox goes: throws 503 when the
 * outbox is full or an erase holds the user; `adopted` when the user had no base and now has one (write again); otherwise
 * `other` (missing, changed meanwhile, refused by the write's other guards: the caller decides).
 */
export async function outboxMiss(store: Store, id: string): Promise<'adopted' | 'other'> {
  const _id = new ObjectId(id)
  const doc = await store.call((limit) => store.users.findOne({ _id }, limit))
  if (!doc || doc.erasedAt !== undefined) return 'other'
  if (heldForErase(doc, store.now())) throw beingErased()
  if ((doc.pendingEvents?.length ?? 0) >= OUTBOX_CAP) throw outboxFull()
  if (doc.eventBase !== undefined) return 'other'
  // Stored before events existed: its base is the user as it is, at its version. Not a change (no
  // version, no event); guarded so that a change in between leaves it to the next miss.
  await store.call((limit) =>
    store.users.updateOne(
      { _id, version: doc.version, eventBase: { $exists: false }, 'pendingEvents.0': { $exists: false } },
      { $set: { eventBase: { version: doc.version, user: snapshotOf(doc) } } },
      limit,
    ),
  )
  return 'adopted'
}

/**
 * Runs a change's guarded write; on a miss caused by a user without a base, adopts it and writes
 * once more. `stored`: the document a write that returns one stored (the relay's copy of the user).
 */
export async function writeChange<T>(
  store: Store,
  id: string,
  write: () => Promise<T | null>,
  stored?: (written: T) => UserDocument,
): Promise<T | null> {
  // Taken before the first write: the earlier, the fewer copies the relay trusts (never too many).
  const sentAt = performance.now()
  const written = (await write()) ?? ((await outboxMiss(store, id)) === 'adopted' ? await write() : null)
  if (written !== null) store.changed(id, stored ? { doc: stored(written), sentAt } : undefined)
  return written
}
