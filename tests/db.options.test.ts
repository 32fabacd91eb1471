import { afterAll, describe, expect, it } from 'bun:test'
import { clientOptions, createDatabase, type Database } from '../src/db/mongo'

/**
 * Options an operator puts in MONGODB_URI win over the client's defaults (`?maxPoolSize=200`):
 * the driver lets options passed to `new MongoClient` override the URI's, so the handle passes
 * only those the URI does not give. Timeouts excepted: the call deadline and the heartbeat watchdog
 * are derived from DB_TIMEOUT_MS (config refuses timeouts in the URI; a review found a URI's
 * connectTimeoutMS made the watchdog reset a healthy client).
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

  it('compares option names without case, as the driver does, and keeps its own timeouts whatever the URI says', async () => {
    const options = await openWith('MAXPOOLSIZE=7&serverselectiontimeoutms=1234&connectTimeoutMS=30000')
    expect(options.maxPoolSize).toBe(7)
    expect(options.serverSelectionTimeoutMS).toBe(2000)
    expect(options.connectTimeoutMS).toBe(2000)
    expect(options.waitQueueTimeoutMS).toBe(2000)
    expect(options.socketTimeoutMS).toBe(2000)
  })

  it('writes with w: majority and reads from the primary, whatever the URI says', async () => {
    // Config refuses these in MONGODB_URI; the client insists all the same (scripts, tests).
    const options = await openWith('w=1&readPreference=secondaryPreferred')
    expect(options.writeConcern?.w).toBe('majority')
    expect(options.readPreference.mode).toBe('primary')
    expect((await openWith('')).writeConcern?.w).toBe('majority')
  })

  it('reads the options of a URI with several hosts, and gives every default to a URI without any', () => {
    const several = clientOptions('mongodb://u:p@a:27017,b:27018/db?replicaSet=rs0&maxPoolSize=9&appName=ops', 'x', 5000)
    expect(several).toEqual({
      serverSelectionTimeoutMS: 5000,
      waitQueueTimeoutMS: 5000,
      connectTimeoutMS: 5000,
      socketTimeoutMS: 5000,
      writeConcern: { w: 'majority' },
      readPreference: 'primary',
    })
    expect(Object.keys(clientOptions('mongodb+srv://cluster0.example.net', 'x', 5000))).toHaveLength(8)
  })
})
