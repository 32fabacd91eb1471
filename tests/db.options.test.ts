import { afterAll, describe, expect, it } from 'bun:test'
import { clientOptions, createDatabase, type Database } from '../src/db/mongo'

/**
 * Options an operator puts in MONGODB_URI win over the client's defaults (`?maxPoolSize=200`):
 * the driver lets options passed to `new MongoClient` override the URI's, so the handle passes
 * only those the URI does not give.
 */
const opened: Database[] = []

afterAll(async () => {
  for (const database of opened) await database.close()
})

/** A handle on the test database with `query` appended to its URI, connected. */
async function openWith(query: string) {
  const base = globalThis.testMongoUri
  const uri = query ? `${base}${base.includes('?') ? '&' : base.endsWith('/') ? '?' : '/?'}${query}` : base
  const database = createDatabase(uri, `test_db_options_${crypto.randomUUID().slice(0, 8)}`, { timeoutMs: 2000 })
  opened.push(database)
  await database.connect()
  await database.ping()
  return database.db.client.options
}

describe('MONGODB_URI options', () => {
  it('takes maxPoolSize from the URI, and 50 without it', async () => {
    expect((await openWith('maxPoolSize=3')).maxPoolSize).toBe(3)
    expect((await openWith('')).maxPoolSize).toBe(50)
  })

  it('compares option names without case, as the driver does, and keeps the defaults the URI leaves', async () => {
    const options = await openWith('MAXPOOLSIZE=7&serverselectiontimeoutms=1234')
    expect(options.maxPoolSize).toBe(7)
    expect(options.serverSelectionTimeoutMS).toBe(1234)
    expect(options.waitQueueTimeoutMS).toBe(2000)
    expect(options.socketTimeoutMS).toBe(2000)
  })

  it('reads the options of a URI with several hosts, and gives every default to a URI without any', () => {
    const several = clientOptions('mongodb://u:p@a:27017,b:27018/db?replicaSet=rs0&connectTimeoutMS=900&appName=ops', 'x', 5000)
    expect(several).toEqual({ serverSelectionTimeoutMS: 5000, waitQueueTimeoutMS: 5000, socketTimeoutMS: 5000, maxPoolSize: 50 })
    expect(Object.keys(clientOptions('mongodb+srv://cluster0.example.net', 'x', 5000))).toHaveLength(6)
  })
})
