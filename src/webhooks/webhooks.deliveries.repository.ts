import { type Collection, type Filter, MongoBulkWriteError } from 'mongodb'
import type { DatabaseHandle } from '../db/calls'
import { ensureIndexes, type IndexSpec } from '../db/indexes'
import { createListeners } from '../listeners'
import { type DeliveryDocument, type QueueDocument, resolveDelivery, type Store } from './webhooks.deliveries.writes'
import type { ClaimedDelivery, StoredDelivery, WebhookDeliveries } from './webhooks.model'

/**
 * Deliveries in two collections:
 * - `webhook_deliveries`, the log: one document per endpoint and event (a unique index, so the
 *   fan-out can be repeated without doubling anything), with its status and last attempts, kept
 *   30 days after it finishes. No payload: the event is read at send time.
 * - `webhook_queue`, the work: one small document per pending delivery (same `_id`), with when it
 *   is due and, while an attempt runs, the claim's lease. Workers search only this collection, so
 *   the claims stay cheap however long the log grows (on FerretDB, which scans a collection for
 *   any query that is not a point read by `_id`, by a factor of the log's size).
 *
 * The queue decides what is sent; the log follows it, written by `_id` only. A claim is one
 * findOneAndUpdate on the queue that sets a lease token and moves `nextAttemptAt` to the lease's
 * end, so a worker that dies mid-attempt leaves the delivery due again when its lease runs out. An
 * outcome is recorded only while the claim still holds: the log first, then the queue entry
 * removed or rescheduled under the token, so a crash in between sends the delivery again (at least
 * once) rather than losing it. A log entry left pending without a queue entry (a crash between two
 * writes) is queued again by `repair`, which the dispatcher runs.
 */
const toDelivery = ({ _id, ...rest }: DeliveryDocument): StoredDelivery => ({ id: _id, ...rest })

export function createWebhookDeliveries(database: DatabaseHandle): WebhookDeliveries {
  const log = database.db.collection<DeliveryDocument>('webhook_deliveries')
  const queue = database.db.collection<QueueDocument>('webhook_queue')
  const store: Store = { database, log, queue }
  const madeDue = createListeners()
  return {
    async ensureIndexes() {
      await Promise.all([ensureIndexes(database, log, LOG_INDEXES), ensureIndexes(database, queue, QUEUE_INDEXES)])
    },

    insertMany: (batch) => insertDeliveries(store, batch),
    claim: (now, leaseMs, excluded) => claimDelivery(store, now, leaseMs, excluded),
    resolve: (claim, resolution, now) => resolveDelivery(store, claim, resolution, now),

    async discard(claim) {
      await database.call((limit) => log.deleteOne({ _id: claim.id }, limit))
      await database.call((limit) => queue.deleteOne({ _id: claim.id, 'lease.token': claim.token }, limit))
    },

    async page(webhookId, { status, limit: size, before }) {
      const filter: Filter<DeliveryDocument> = {
        webhookId,
        ...(status ? { status } : {}),
        ...(before ? { _id: { $lt: before } } : {}),
      }
      const documents = await database.call((limit) => log.find(filter, limit).sort({ _id: -1 }).limit(size).toArray())
      return documents.map(toDelivery)
    },

    async get(webhookId, id) {
      const document = await database.call((limit) => log.findOne({ _id: id }, limit))
      return document && document.webhookId === webhookId ? toDelivery(document) : null
    },

    retryNow: (webhookId, id, now) => retryDelivery(store, webhookId, id, now, madeDue.notify),
    onDue: madeDue.add,

    postpone: (webhookId, until) => postponeDeliveries(store, webhookId, until),

    failPending: (webhookId, now) => failPending(store, webhookId, now),

    // The queue holds exactly the pending deliveries: its count, not a scan of the log.
    waiting: () => database.call((limit) => queue.estimatedDocumentCount(limit)),

    async deleteFor(webhookId) {
      await database.call((limit) => queue.deleteMany({ webhookId }, limit))
      const { deletedCount } = await database.call((limit) => log.deleteMany({ webhookId }, limit))
      return deletedCount
    },

    async forgetUser(userId) {
      // FerretDB has no positional update to clear one field of every element: the log entries of
      // an erased user's events keep their status and count, and lose their attempt details. The
      // mark makes an attempt in flight now record its outcome without what the receiver answered.
      await database.call((limit) => log.updateMany({ userId }, { $set: { recentAttempts: [], userErased: true } }, limit))
    },

    async prune(before) {
      const { deletedCount } = await database.call((limit) =>
        log.deleteMany({ status: { $in: ['succeeded', 'failed'] }, updatedAt: { $lt: before } }, limit),
      )
      return deletedCount
    },

    repair: (before) => repairQueue(store, before),
  }
}

/**
 * The queue only: the log keeps the time the schedule set (a pause is short, and rewriting every
 * waiting log entry of a dead endpoint at each pause would cost more than the pause saves).
 */
async function postponeDeliveries({ database, queue }: Store, webhookId: string, until: Date): Promise<number> {
  const { modifiedCount } = await database.call((limit) =>
    queue.updateMany(
      { webhookId, nextAttemptAt: { $lt: until }, lease: { $exists: false } },
      { $set: { nextAttemptAt: until } },
      limit,
    ),
  )
  return modifiedCount
}

async function failPending({ database, log, queue }: Store, webhookId: string, now: Date): Promise<number> {
  // Entries an attempt holds stay: that attempt records its own outcome.
  await database.call((limit) => queue.deleteMany({ webhookId, lease: { $exists: false } }, limit))
  const { modifiedCount } = await database.call((limit) =>
    log.updateMany(
      { webhookId, status: 'pending' },
      { $set: { status: 'failed', updatedAt: now }, $unset: { nextAttemptAt: '' } },
      limit,
    ),
  )
  return modifiedCount
}

/** Log entries first, then queue entries for the ones that were new (a rerun adds nothing). */
async function insertDeliveries({ database, log, queue }: Store, batch: StoredDelivery[]): Promise<number> {
  if (batch.length === 0) return 0
  const fresh = await insertNew(
    database,
    log,
    batch.map(({ id, ...rest }) => ({ _id: id, ...rest })),
  )
  const entries = batch
    .filter((_, index) => fresh.has(index))
    .map((delivery) => ({
      _id: delivery.id,
      webhookId: delivery.webhookId,
      nextAttemptAt: delivery.nextAttemptAt ?? delivery.createdAt,
      attempts: delivery.attempts,
    }))
  await insertNew(database, queue, entries)
  return fresh.size
}

/** Inserts `documents` unordered; the indexes of those that were not there yet (11000 for the others). */
async function insertNew<T extends { _id: string }>(
  database: DatabaseHandle,
  collection: Collection<T>,
  documents: T[],
): Promise<Set<number>> {
  const all = new Set(documents.map((_, index) => index))
  if (documents.length === 0) return all
  try {
    await database.call((limit) => collection.insertMany(documents as never[], { ...limit, ordered: false }))
    return all
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error
    const list = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]
    // 11000 on insert, on MongoDB and FerretDB alike: a document an earlier run made.
    if (list.length === 0 || !list.every((entry) => entry.code === 11000)) throw error
    for (const entry of list) all.delete(entry.index)
    return all
  }
}

async function claimDelivery(
  { database, log, queue }: Store,
  now: Date,
  leaseMs: number,
  excluded: readonly string[],
): Promise<ClaimedDelivery | null> {
  const until = new Date(now.getTime() + leaseMs)
  const filter: Filter<QueueDocument> = {
    nextAttemptAt: { $lte: now },
    ...(excluded.length > 0 ? { webhookId: { $nin: [...excluded] } } : {}),
  }
  for (;;) {
    const token = crypto.randomUUID()
    const entry = await database.call((limit) =>
      queue.findOneAndUpdate(
        filter,
        { $set: { lease: { token, until }, nextAttemptAt: until }, $inc: { attempts: 1 } },
        { ...limit, sort: { nextAttemptAt: 1 }, returnDocument: 'after' },
      ),
    )
    if (!entry) return null
    const document = await database.call((limit) => log.findOne({ _id: entry._id }, limit))
    if (document) return { ...toDelivery(document), attempts: entry.attempts, token }
    // Its log entry is gone (the endpoint was deleted meanwhile): so is the work.
    await database.call((limit) => queue.deleteOne({ _id: entry._id, 'lease.token': token }, limit))
  }
}

/** Pending and due now: the log first (a crash then leaves it for repair), then the queue entry. */
/** `due` is told once the delivery is due now (this process's workers look at once). */
async function retryDelivery({ database, log, queue }: Store, webhookId: string, id: string, now: Date, due: () => void) {
  const document = await database.call((limit) => log.findOne({ _id: id }, limit))
  if (!document || document.webhookId !== webhookId) return null
  const retried = { ...document, status: 'pending' as const, nextAttemptAt: now, updatedAt: now }
  await database.call((limit) =>
    log.updateOne({ _id: id }, { $set: { status: 'pending', nextAttemptAt: now, updatedAt: now } }, limit),
  )
  // Any claim is dropped: an attempt running now records nothing, and this one goes next.
  await database.call((limit) =>
    queue.updateOne(
      { _id: id },
      { $set: { webhookId, nextAttemptAt: now }, $unset: { lease: '' }, $setOnInsert: { attempts: document.attempts } },
      { ...limit, upsert: true },
    ),
  )
  due()
  return toDelivery(retried)
}

async function repairQueue({ database, log, queue }: Store, before: Date): Promise<number> {
  const stale = await database.call((limit) =>
    log
      .find({ status: 'pending', updatedAt: { $lt: before } }, { ...limit, projection: { _id: 1 } })
      .limit(1000)
      .toArray(),
  )
  if (stale.length === 0) return 0
  const ids = stale.map((document) => document._id)
  const queued = await database.call((limit) => queue.find({ _id: { $in: ids } }, { ...limit, projection: { _id: 1 } }).toArray())
  const missing = new Set(ids)
  for (const entry of queued) missing.delete(entry._id)
  let repaired = 0
  for (const id of missing) {
    // Read again: an attempt may have finished it since the first read.
    const document = await database.call((limit) => log.findOne({ _id: id }, limit))
    if (document?.status !== 'pending') continue
    const entry = { webhookId: document.webhookId, nextAttemptAt: document.nextAttemptAt ?? before, attempts: document.attempts }
    const { upsertedCount } = await database.call((limit) =>
      queue.updateOne({ _id: id }, { $setOnInsert: entry }, { ...limit, upsert: true }),
    )
    repaired += upsertedCount
  }
  return repaired
}

/** The deliveries log's indexes (src/db/indexes.ts creates those missing at startup). */
const LOG_INDEXES: readonly IndexSpec[] = [
  { key: { webhookId: 1, eventId: 1 }, name: 'webhookId_eventId_unique', unique: true },
  // The deliveries list, newest first, with and without a status; deleteFor and failPending.
  { key: { webhookId: 1, _id: -1 }, name: 'webhookId_id' },
  { key: { webhookId: 1, status: 1, _id: -1 }, name: 'webhookId_status_id' },
  // The prune of finished deliveries and the repair of pending ones.
  { key: { status: 1, updatedAt: 1 }, name: 'status_updatedAt' },
  // An erase's forgetUser.
  { key: { userId: 1 }, name: 'userId' },
]

/**
 * The delivery queue's: the workers' claim, and an endpoint's entries (failPending, deleteFor).
 * The claim walks the due entries in `nextAttemptAt` order past those of endpoints at their limit
 * (`webhookId: { $nin }`): with `webhookId` in the same index MongoDB skips those on the index keys,
 * instead of fetching every waiting entry of a slow endpoint's backlog at each claim. (A database
 * first run by an older release keeps its `nextAttemptAt` index too; it may be dropped.)
 */
const QUEUE_INDEXES: readonly IndexSpec[] = [
  { key: { nextAttemptAt: 1, webhookId: 1 }, name: 'nextAttemptAt_webhookId' },
  { key: { webhookId: 1 }, name: 'webhookId' },
]
