/**
 * Generates a seed-shaped `user` collection (the Flask + MongoEngine service's documents) for the
 * import's tests and throughput figures:
 *   bun scripts/seed-legacy.ts --to mongodb://127.0.0.1:PORT/seed/user --count 100000 [--password-every 250] [--hostile]
 * Like the tests, it writes with the driver directly: it builds a foreign database, not ours.
 */
import { parseArgs } from 'node:util'
import { MongoClient, ObjectId } from 'mongodb'
import { parseSourceUri } from '../src/migration/legacy.source.repository'

export type SeedOptions = {
  /** Every n-th document has a plain-text password (hashing is what costs: about 100 ms each). */
  passwordEvery: number
  /** Adds hostile documents at fixed places: see `expectedSkips`. */
  hostile: boolean
}

/** ObjectIds in creation order from a fixed time, so runs are reproducible and `_id` order is index order. */
const seedId = (i: number) => new ObjectId(`65000000${i.toString(16).padStart(16, '0')}`)

/** The i-th seed document, as MongoEngine would have stored it. */
export function seedUser(i: number, options: SeedOptions): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    _id: seedId(i),
    username: `user${i}`,
    email: `user${i}@example.com`,
    role: i % 50 === 0 ? 'moderator' : 'user',
    is_active: i % 10 !== 7,
    ...(i % options.passwordEvery === 0 ? { password: `seed-password-${i}` } : {}),
  }
  if (options.hostile) {
    if (i % 1000 === 999) doc.username = `USER${i - 1}` // duplicate of the previous username, by case
    if (i % 2000 === 501) delete doc.email
    if (i % 2000 === 1501) doc.username = i // not a string
  }
  return doc
}

/** What the import must skip in `count` hostile documents, by reason. */
export function expectedSkips(count: number) {
  const matching = (predicate: (i: number) => boolean) => Array.from({ length: count }, (_, i) => i).filter(predicate).length
  return {
    duplicate_username_in_source: matching((i) => i % 1000 === 999),
    invalid_document: matching((i) => i % 2000 === 501 || i % 2000 === 1501),
  }
}

export async function* seedBatches(count: number, options: SeedOptions, batchSize = 1000) {
  for (let start = 0; start < count; start += batchSize) {
    yield Array.from({ length: Math.min(batchSize, count - start) }, (_, k) => seedUser(start + k, options))
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      to: { type: 'string' },
      count: { type: 'string', default: '10000' },
      'password-every': { type: 'string', default: '250' },
      hostile: { type: 'boolean', default: false },
    },
  })
  if (!values.to) throw new Error('--to mongodb://host:port/<db>/<collection> is required')
  const { uri, db, collection } = parseSourceUri(values.to)
  const client = await new MongoClient(uri).connect()
  const users = client.db(db).collection(collection)
  const count = Number(values.count)
  const started = performance.now()
  for await (const batch of seedBatches(count, { passwordEvery: Number(values['password-every']), hostile: values.hostile })) {
    await users.insertMany(batch)
  }
  console.error(`inserted ${count} seed users into ${db}.${collection} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  await client.close()
}
