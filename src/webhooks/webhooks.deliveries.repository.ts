import { type Collection, type Filter, MongoBulkWriteError } from 'mongodb'
import type { DatabaseHandle } from '../db/calls'
import type { DeliveryResolution, StoredDelivery, WebhookDeliveries } from './webhooks.model'

/**
 * Webhook deliveries in `webhook_deliveries`: one per endpoint and event (a unique index, so the
 * fan-out can be repeated without doubling anything), no payload (the event is read at send time).
 *
 * A claim is one findOneAndUpdate on `{ status: 'pending', nextAttemptAt <= now }` that sets a lease
 * token and moves `nextAttemptAt` to the lease's end: a worker that dies mid-attempt leaves the
 * delivery due again when its lease runs out, with no separate expiry condition to match. Every
 * write about the attempt's outcome is guarded by the token, so a claim that was lost (a manual
 * retry, an expired lease taken by another worker) records nothing.
 */
type DeliveryDocument = Omit<StoredDelivery, 'id'> & { _id: string }
type Store = { database: DatabaseHandle; deliveries: Collection<DeliveryDocument> }

const toDelivery = ({ _id, ...rest }: DeliveryDocument): StoredDelivery => ({ id: _id, ...rest })

export function createWebhookDeliveries(database: DatabaseHandle): WebhookDeliveries {
  const deliveries: Collection<DeliveryDocument> = database.db.collection<DeliveryDocument>('webhook_deliveries')
  const store = { database, deliveries }

  return {
    async ensureIndexes() {
      // One createIndex call per index (FerretDB panics on several existing specs in one command).
      await deliveries.createIndex({ webhookId: 1, eventId: 1 }, { name: 'webhookId_eventId_unique', unique: true })
      // The workers' claim: pending deliveries by due time.
      await deliveries.createIndex({ status: 1, nextAttemptAt: 1 }, { name: 'status_nextAttemptAt' })
      // The deliveries list, newest first, with and without a status; also deleteFor and failPending.
      await deliveries.createIndex({ webhookId: 1, _id: -1 }, { name: 'webhookId_id' })
      await deliveries.createIndex({ webhookId: 1, status: 1, _id: -1 }, { name: 'webhookId_status_id' })
      // The prune of finished deliveries.
      await deliveries.createIndex({ updatedAt: 1 }, { name: 'updatedAt' })
    },

    insertMany: (batch) => insertDeliveries(store, batch),

    async claim(now, leaseMs, excluded) {
      const claimed = await claimDelivery(store, now, leaseMs, excluded)
      return claimed ? toDelivery(claimed) : null
    },

    resolve: (id, token, resolution, now) => resolveDelivery(store, id, token, resolution, now),

    async discard(id, token) {
      await database.call((limit) => deliveries.deleteOne({ _id: id, 'lease.token': token }, limit))
    },

    async page(webhookId, { status, limit: size, before }) {
      const filter: Filter<DeliveryDocument> = {
        webhookId,
        ...(status ? { status } : {}),
        ...(before ? { _id: { $lt: before } } : {}),
      }
      const documents = await database.call((limit) => deliveries.find(filter, limit).sort({ _id: -1 }).limit(size).toArray())
      return documents.map(toDelivery)
    },

    async get(webhookId, id) {
      const document = await database.call((limit) => deliveries.findOne({ _id: id }, limit))
      return document && document.webhookId === webhookId ? toDelivery(document) : null
    },

    async retryNow(webhookId, id, now) {
      const updated = await database.call((limit) =>
        deliveries.findOneAndUpdate(
          { _id: id, webhookId },
          { $set: { status: 'pending', nextAttemptAt: now, updatedAt: now }, $unset: { lease: '' } },
          { ...limit, returnDocument: 'after' },
        ),
      )
      return updated ? toDelivery(updated) : null
    },

    async failPending(webhookId, now) {
      const { modifiedCount } = await database.call((limit) =>
        deliveries.updateMany(
          { webhookId, status: 'pending', lease: { $exists: false } },
          { $set: { status: 'failed', updatedAt: now }, $unset: { nextAttemptAt: '' } },
          limit,
        ),
      )
      return modifiedCount
    },

    async deleteFor(webhookId) {
      const { deletedCount } = await database.call((limit) => deliveries.deleteMany({ webhookId }, limit))
      return deletedCount
    },

    async prune(before) {
      const { deletedCount } = await database.call((limit) =>
        deliveries.deleteMany({ status: { $in: ['succeeded', 'failed'] }, updatedAt: { $lt: before } }, limit),
      )
      return deletedCount
    },
  }
}

async function insertDeliveries({ database, deliveries }: Store, batch: StoredDelivery[]): Promise<number> {
  if (batch.length === 0) return 0
  const documents = batch.map(({ id, ...rest }) => ({ _id: id, ...rest }))
  try {
    const result = await database.call((limit) => deliveries.insertMany(documents, { ...limit, ordered: false }))
    return result.insertedCount
  } catch (error) {
    // Unordered: everything else was inserted; a duplicate is a delivery made by an earlier run.
    if (!(error instanceof MongoBulkWriteError)) throw error
    const list = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]
    // 11000 on insert, on MongoDB and FerretDB alike.
    if (list.length === 0 || !list.every((entry) => entry.code === 11000)) throw error
    return documents.length - list.length
  }
}

function claimDelivery({ database, deliveries }: Store, now: Date, leaseMs: number, excluded: readonly string[]) {
  const until = new Date(now.getTime() + leaseMs)
  const filter: Filter<DeliveryDocument> = {
    status: 'pending',
    nextAttemptAt: { $lte: now },
    ...(excluded.length > 0 ? { webhookId: { $nin: [...excluded] } } : {}),
  }
  return database.call((limit) =>
    deliveries.findOneAndUpdate(
      filter,
      { $set: { lease: { token: crypto.randomUUID(), until }, nextAttemptAt: until, updatedAt: now }, $inc: { attempts: 1 } },
      { ...limit, sort: { nextAttemptAt: 1 }, returnDocument: 'after' },
    ),
  )
}

async function resolveDelivery(
  { database, deliveries }: Store,
  id: string,
  token: string,
  resolution: DeliveryResolution,
  now: Date,
): Promise<boolean> {
  const set = {
    status: resolution.status,
    updatedAt: now,
    ...(resolution.recentAttempts ? { recentAttempts: resolution.recentAttempts } : {}),
    ...(resolution.status === 'pending' ? { nextAttemptAt: resolution.nextAttemptAt } : {}),
  }
  const unset: Record<string, ''> = resolution.status === 'pending' ? { lease: '' } : { lease: '', nextAttemptAt: '' }
  const uncount = resolution.status !== 'pending' && resolution.uncount ? { $inc: { attempts: -1 } } : {}
  const { matchedCount } = await database.call((limit) =>
    deliveries.updateOne({ _id: id, 'lease.token': token }, { $set: set, $unset: unset, ...uncount }, limit),
  )
  return matchedCount === 1
}
