import type { Collection } from 'mongodb'
import type { DatabaseHandle } from '../db/calls'
import { isDuplicateKeyError } from '../db/errors'
import { ensureIndexes } from '../db/indexes'
import { createListeners } from '../listeners'
import type { EndpointChanges, StoredEndpoint, WebhookEndpoints } from './webhooks.model'
import { MAX_WEBHOOK_ENDPOINTS } from './webhooks.model'
import { createSecretSealer, type SecretSealer } from './webhooks.sealing'
import type { StoredSecret } from './webhooks.signing'

/**
 * Webhook endpoints in the `webhooks` collection: `{ _id: 'wh_…', slot, ...StoredEndpoint }`.
 *
 * The cap is exact across instances: each endpoint takes one of MAX_WEBHOOK_ENDPOINTS slots under a
 * unique index, so two concurrent creates can never both take the last one (a count followed by an
 * insert could let both through).
 *
 * Secrets are sealed by `sealer` on every write and opened on every read (webhooks.sealing.ts); a
 * read that finds one stale (plain, or under a key that is no longer the first) writes the
 * endpoint's secrets again sealed, guarded by its version and without changing it: the same
 * secrets, so nothing a client sees changes, and a concurrent write of the endpoint wins.
 */
type EndpointDocument = Omit<StoredEndpoint, 'id'> & { _id: string; slot: number }

export function createWebhookEndpoints(
  database: DatabaseHandle,
  sealer: SecretSealer = createSecretSealer([]),
): WebhookEndpoints {
  const endpoints: Collection<EndpointDocument> = database.db.collection<EndpointDocument>('webhooks')
  // This process's writes (a new endpoint, one enabled again) wake its dispatcher from an idle pause.
  const written = createListeners()
  const opened = (document: EndpointDocument) => openEndpoint(database, endpoints, sealer, document)
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
          const secrets = sealSecrets(sealer, endpoint.secrets, id)
          await database.call((limit) => endpoints.insertOne({ _id: id, slot, ...endpoint, secrets, version: 1 }, limit))
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
      return Promise.all(documents.map(opened))
    },

    async get(id) {
      const document = await database.call((limit) => endpoints.findOne({ _id: id }, limit))
      return document ? opened(document) : null
    },

    async update(id, version, changes: EndpointChanges, now) {
      const unset = Object.fromEntries(changes.unset.map((field) => [field, '' as const]))
      const sealed = changes.set.secrets ? { secrets: sealSecrets(sealer, changes.set.secrets, id) } : {}
      const update = {
        $set: { ...changes.set, ...sealed, updatedAt: now },
        $inc: { version: 1 },
        ...(changes.unset.length > 0 ? { $unset: unset } : {}),
      }
      const updated = await database.call((limit) =>
        endpoints.findOneAndUpdate({ _id: id, version }, update, { ...limit, returnDocument: 'after' }),
      )
      if (!updated) return null
      written.notify()
      return endpointOf(sealer, updated)
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

/** A stored secret opened for use, or kept sealed and marked `unopened` when no configured key opens it. */
function openSecret(sealer: SecretSealer, entry: StoredSecret, endpointId: string): StoredSecret {
  const secret = sealer.open(entry.secret, endpointId)
  return secret === null ? { ...entry, unopened: true } : { ...entry, secret }
}

/** Secrets as they are stored: open ones sealed (again), unopened ones written back exactly as read. */
function sealSecrets(sealer: SecretSealer, secrets: readonly StoredSecret[], endpointId: string): StoredSecret[] {
  return secrets.map(({ unopened, ...entry }) => (unopened ? entry : { ...entry, secret: sealer.seal(entry.secret, endpointId) }))
}

function endpointOf(sealer: SecretSealer, { _id, slot: _slot, secrets, ...rest }: EndpointDocument): StoredEndpoint {
  return { id: _id, ...rest, secrets: secrets.map((entry) => openSecret(sealer, entry, _id)) }
}

/**
 * The endpoint as read, its secrets opened once; stale ones it could open (plain, or under a key
 * no longer first) sealed again first when the write succeeds (at most once per endpoint and key).
 */
async function openEndpoint(
  database: DatabaseHandle,
  endpoints: Collection<EndpointDocument>,
  sealer: SecretSealer,
  document: EndpointDocument,
): Promise<StoredEndpoint> {
  const endpoint = endpointOf(sealer, document)
  const stale = document.secrets.some((entry, at) => sealer.stale(entry.secret) && !endpoint.secrets[at]?.unopened)
  if (!stale) return endpoint
  const secrets = sealSecrets(sealer, endpoint.secrets, endpoint.id)
  // Housekeeping, not the read's work: a failed write (a primary stepping down, a deadline) must
  // not fail the read (a GET's 500, a dispatch round for every endpoint); the next read seals.
  const guard = { _id: endpoint.id, version: endpoint.version }
  await database.call((limit) => endpoints.updateOne(guard, { $set: { secrets } }, limit)).catch(() => undefined)
  return endpoint
}
