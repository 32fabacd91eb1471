/**
 * The benchmark's data: 10,000 users in the service's stored shape, bulk-loaded with insertMany
 * in batches (creating them one by one through the API would take minutes on FerretDB). Indexes
 * come from the service's own repository, and one seeded user is read back through it, so a
 * change to the stored shape breaks the seeding loudly instead of benchmarking the wrong thing.
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

export async function seedUsers(uri: string, dbName: string, count: number): Promise<SeededUsers> {
  const database = await connectDatabase(uri, dbName, { appName: 'bench-seed' })
  try {
    const repository = createUsersRepository(database)
    await repository.ensureIndexes()
    const collection = database.db.collection('users')
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
      await collection.insertMany(docs, { ordered: false })
      // On a terminal one line counts up; in a log, a line every 2,500 users.
      const line = `seeding users: ${ids.length.toLocaleString('en-US')} / ${count.toLocaleString('en-US')}`
      if (process.stderr.isTTY) process.stderr.write(`\r${line}${ids.length === count ? '\n' : ''}`)
      else if (ids.length % 2500 === 0 || ids.length === count) process.stderr.write(`${line}\n`)
    }
    const check = await repository.findById(ids[0] ?? '')
    if (check?.username !== usernames[0]) throw new Error('seeded users do not read back through the service repository')
    return { ids, usernames, createdAt: created }
  } finally {
    await database.close()
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
