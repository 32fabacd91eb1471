import type { Collection, CreateIndexesOptions, Document } from 'mongodb'
import type { DatabaseHandle } from './calls'

/** One index a store needs: its keys in order and its options. */
export type IndexSpec = {
  key: Record<string, 1 | -1>
  name: string
  unique?: boolean
  sparse?: boolean
  expireAfterSeconds?: number
}

/** What a server lists of an index (listIndexes). */
type ListedIndex = Document & { name: string; key: Record<string, unknown> }

/**
 * Creates the indexes of `specs` that `collection` lacks, at startup. One listIndexes first, then
 * one createIndex per spec not already there exactly as specified (same name, keys in the same
 * order, same options): a service restarting on its own database sends one read per collection
 * instead of a write per index (about 20 writes, which take turns on the embedded database: its
 * restarts spent 30-38 ms on them, 20-30 ms listing instead). A spec listed otherwise still goes to
 * createIndex, so the server answers it as it did before (the same index, or a conflict error).
 * Two instances starting together may both create one: createIndex of the same spec is idempotent.
 *
 * One spec per call: FerretDB panics on a createIndexes command with several specs that exist
 * already. No maxTimeMS and no socket timeout (buildIndex): index builds are startup work, bounded
 * by the operator (a startup probe's patience), not by a request's budget.
 */
export async function ensureIndexes<T extends Document>(
  database: DatabaseHandle,
  collection: Collection<T>,
  specs: readonly IndexSpec[],
): Promise<void> {
  const { indexes, created } = await listIndexes(collection)
  for (const spec of specs) {
    if (!indexes.some((index) => sameIndex(index, spec))) await buildIndex(database, collection, spec, created)
  }
}

/**
 * Sends one createIndex, on the handle's client for index builds when it has one (no socket
 * timeout: on MongoDB the call returns when the build is done, minutes later on a large
 * collection), reporting it before and after with the documents it is built over (0 without
 * asking when the collection did not exist when listed: `created`).
 */
export async function buildIndex<T extends Document>(
  database: DatabaseHandle,
  collection: Collection<T>,
  { key, ...options }: IndexSpec,
  created = false,
): Promise<void> {
  const builds = database.indexBuilds
  const target = builds ? (await builds.db()).collection(collection.collectionName) : collection
  const documents = created || !builds?.report ? 0 : await target.estimatedDocumentCount()
  const report = { collection: collection.collectionName, index: options.name, documents }
  builds?.report?.(report)
  const started = performance.now()
  await target.createIndex(key, options satisfies CreateIndexesOptions)
  builds?.report?.({ ...report, durationMs: Math.round(performance.now() - started) })
}

/**
 * The collection's indexes as listed: none, and `created`, when it does not exist yet (its first
 * index creates it); none either when the database user may not list them (13 Unauthorized: a
 * role with createIndex but not listIndexes), so that every spec is sent, as before listing.
 */
export async function listIndexes<T extends Document>(
  collection: Collection<T>,
): Promise<{ indexes: ListedIndex[]; created: boolean }> {
  try {
    return { indexes: (await collection.listIndexes().toArray()) as ListedIndex[], created: false }
  } catch (error) {
    const code = (error as { code?: number }).code
    if (code === 26) return { indexes: [], created: true } // NamespaceNotFound
    if (code === 13) return { indexes: [], created: false }
    throw error
  }
}

/**
 * What a listed index may hold besides what sameIndex compares: the index version, the namespace
 * (older servers), and the build option modern servers ignore. Anything else (a partial filter, a
 * collation, `hidden`...) makes it another index than the spec, which then goes to the server.
 */
const NEUTRAL_FIELDS = new Set(['v', 'key', 'name', 'ns', 'background', 'unique', 'sparse', 'expireAfterSeconds'])

/** Whether `index` is `spec` exactly: name, keys in order, and every option the spec decides. */
export function sameIndex(index: ListedIndex, spec: IndexSpec): boolean {
  const keys = Object.entries(index.key)
  const wanted = Object.entries(spec.key)
  return (
    Object.keys(index).every((field) => NEUTRAL_FIELDS.has(field)) &&
    index.name === spec.name &&
    keys.length === wanted.length &&
    wanted.every(([field, order], at) => keys[at]?.[0] === field && keys[at]?.[1] === order) &&
    (index.unique === true) === (spec.unique === true) &&
    (index.sparse === true) === (spec.sparse === true) &&
    index.expireAfterSeconds === spec.expireAfterSeconds
  )
}
