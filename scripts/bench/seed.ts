/**
 * The benchmark's data: 10,000 users in the service's stored shape, the same users in each
 * contender's own database, bulk-loaded with insertMany in batches (creating them one by one
 * through the API would take minutes on FerretDB). Indexes come from the service's own
 * repository, and one seeded user is read back through it in each database, so a change to the
 * stored shape breaks the seeding loudly instead of benchmarking the wrong thing.
 * They are stored as a database whose events were all relayed holds them: an `eventBase` (the user
 * at its version) and nothing pending, so a PATCH measures the steady state, not a user's first
 * change since events existed (which adopts it: docs/events.md); a service from before events
 * ignores the field.
 */
import { ObjectId } from 'mongodb'
import { connectDatabase } from '../../src/db/mongo'
import type { UserDocument } from '../../src/users/users.document'
import { snapshotOf } from '../../src/users/users.outbox.document'
import { createUsersRepository } from '../../src/users/users.repository'

/** In creation order (oldest first); list pages run newest first. */
export type SeededUsers = { ids: string[]; usernames: string[]; createdAt: string[] }

const BATCH = 500

/**
 * Seeds `count` users into each of `dbNames` (on one server): every batch is made once and
 * inserted into every database, so they all hold the same users (same `_id`s, usernames and
 * createdAt), and what is returned describes each of them.
 */
export async function seedUsers(uri: string, dbNames: readonly string[], count: number): Promise<SeededUsers> {
  if (!dbNames.length) throw new Error('seedUsers needs at least one database name')
  const databases = []
  try {
    for (const name of dbNames) databases.push(await connectDatabase(uri, name, { appName: 'bench-seed' }))
    const targets = databases.map((database) => ({
      repository: createUsersRepository(database),
      collection: database.db.collection('users'),
    }))
    for (const target of targets) await target.repository.ensureIndexes()
    const ids: string[] = []
    const usernames: string[] = []
    const created: string[] = []
    // Distinct, increasing creation times, so list pages have one well-defined order.
    const start = Date.now() - count * 1000
    for (let first = 0; first < count; first += BATCH) {
      const docs = []
      for (let i = first; i < Math.min(first + BATCH, count); i++) {
        const username = `user${String(i).padStart(5, '0')}`
        const createdAt = new Date(start + i * 1000)
        const doc = {
          _id: new ObjectId(),
          username,
          usernameKey: username,
          email: `${username}@example.com`,
          emailKey: `${username}@example.com`,
          displayName: `Bench User ${i}`,
          metadata: { team: `team-${i % 50}`, seq: i },
          role: 'user',
          status: 'active',
          createdAt,
          updatedAt: createdAt,
          version: 1,
        }
        docs.push({ ...doc, eventBase: { version: 1, user: snapshotOf(doc as UserDocument) } })
        ids.push(doc._id.toHexString())
        usernames.push(username)
        created.push(createdAt.toISOString())
      }
      // The same documents (with their `_id`s) into every database.
      for (const target of targets) await target.collection.insertMany(docs, { ordered: false })
      // On a terminal one line counts up; in a log, a line every 2,500 users.
      const of = dbNames.length > 1 ? ` (into each of ${dbNames.join(', ')})` : ''
      const line = `seeding users: ${ids.length.toLocaleString('en-US')} / ${count.toLocaleString('en-US')}${of}`
      if (process.stderr.isTTY) process.stderr.write(`\r${line}${ids.length === count ? '\n' : ''}`)
      else if (ids.length % 2500 === 0 || ids.length === count) process.stderr.write(`${line}\n`)
    }
    for (const [i, target] of targets.entries()) {
      const check = await target.repository.findById(ids[0] ?? '')
      if (check?.username !== usernames[0]) {
        throw new Error(`seeded users do not read back through the service repository (database ${dbNames[i]})`)
      }
    }
    return { ids, usernames, createdAt: created }
  } finally {
    for (const database of databases) await database.close()
  }
}

/** The current version of each of `ids`, read straight from the collection (PATCH runs need them). */
export async function currentVersions(uri: string, dbName: string, ids: string[]): Promise<Map<string, number>> {
  const database = await connectDatabase(uri, dbName, { appName: 'bench-versions' })
  try {
    const docs = await database.db
      .collection<{ _id: ObjectId; version: number }>('users')
      .find({ _id: { $in: ids.map((id) => new ObjectId(id)) } }, { projection: { version: 1 } })
      .toArray()
    return new Map(docs.map((doc) => [doc._id.toHexString(), doc.version]))
  } finally {
    await database.close()
  }
}
