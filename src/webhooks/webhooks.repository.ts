import type { Collection } from 'mongodb'
import type { DatabaseHandle } from '../db/calls'
import { isDuplicateKeyError } from '../db/errors'
import { ensureIndexes } from '../db/indexes'
import { createListeners } from '../listeners'
import type { EndpointChanges, StoredEndpoint, WebhookEndpoints } from './webhooks.model'
import { MAX_WEBHOOK_ENDPOINTS } from './webhooks.model'

/**
 * Webhook endpoints in the `webhooks` collection: `{ _id: 'wh_…', slot, ...StoredEndpoint }`.
 *
 * The cap is exact across instances: each endpoint takes one of MAX_WEBHOOK_ENDPOINTS slots under a
 * unique index, so two concurrent creates can never both take the last one (a count followed by an
 * insert could let both through).
 */
type EndpointDocument = Omit<StoredEndpoint, 'id'> & { _id: string; slot: number }

export function createWebhookEndpoints(database: DatabaseHandle): WebhookEndpoints {
  const endpoints: Collection<EndpointDocument> = database.db.collection<EndpointDocument>('webhooks')
  // This process's writes (a new endpoint, one enabled again) wake its dispatcher from an idle pause.
  const written = createListeners()
  const toEndpoint = ({ _id, slot: _slot, ...rest }: EndpointDocument): StoredEndpoint => ({ id: _id, ...rest })
  return {
    ensureIndexes: () => ensureIndexes(database, endpoints, [{ key: { slot: 1 }, name: 'slot_unique', unique: true }]),

    async insert({ id, ...endpoint }) {
      // A slot taken meanwhile by a concurrent create is 11000: look again, at most once per slot.
      for (let attempt = 0; attempt < MAX_WEBHOOK_ENDPOINTS; attempt++) {
        const taken = await database.call((limit) => endpoints.find({}, { ...limit, projection: { slot: 1 } }).toArray())
        const used = new Set(taken.map((document) => document.slot))
        const slot = Array.from({ length: MAX_WEBHOOK_ENDPOINTS }, (_, i) => i).find((i) => !used.has(i))
        if (slot === undefined) return 'limit_reached'
        try {
          await database.call((limit) => endpoints.insertOne({ _id: id, slot, ...endpoint, version: 1 }, limit))
          written.notify()
          return 'inserted'
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error
        }
      }
      return 'limit_reached'
    },

    async list() {
      const documents = await database.call((limit) => endpoints.find({}, limit).sort({ _id: 1 }).toArray())
      return documents.map(toEndpoint)
    },

    async get(id) {
      const document = await database.call((limit) => endpoints.findOne({ _id: id }, limit))
      return document ? toEndpoint(document) : null
    },

    async update(id, version, changes: EndpointChanges, now) {
      const unset = Object.fromEntries(changes.unset.map((field) => [field, '' as const]))
      const update = {
        $set: { ...changes.set, updatedAt: now },
        $inc: { version: 1 },
        ...(changes.unset.length > 0 ? { $unset: unset } : {}),
      }
      const updated = await database.call((limit) =>
        endpoints.findOneAndUpdate({ _id: id, version }, update, { ...limit, returnDocument: 'after' }),
      )
      if (!updated) return null
      written.notify()
      return toEndpoint(updated)
    },

    async delete(id, version) {
      const { deletedCount } = await database.call((limit) => endpoints.deleteOne({ _id: id, version }, limit))
      return deletedCount === 1
    },

    async disable(id, reason, now) {
      const { modifiedCount } = await database.call((limit) =>
        endpoints.updateOne(
          { _id: id, enabled: true },
          { $set: { enabled: false, disabledReason: reason, updatedAt: now }, $inc: { version: 1 } },
          limit,
        ),
      )
      return modifiedCount === 1
    },

    onChange: written.add,

    async caughtUp(id, startAfterSequence) {
      await database.call((limit) =>
        endpoints.updateOne({ _id: id, startAfterSequence, catchUp: true }, { $unset: { catchUp: '' } }, limit),
      )
    },
  }
}
