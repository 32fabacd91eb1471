import { afterAll, describe, expect, it } from 'bun:test'
import net from 'node:net'
import { type Collection, type CommandStartedEvent, MongoClient } from 'mongodb'
import { attachDatabase } from '../src/db/calls'
import { ensureExpiry } from '../src/db/expiry'
import { ensureIndexes, type IndexSpec, sameIndex } from '../src/db/indexes'
import { connectDatabase } from '../src/db/mongo'
import { createStores } from '../src/stores'
import { startServer } from './helpers/process'

/**
 * Indexes at startup (src/db/indexes.ts): created when missing, and on a restart only listed,
 * not sent again one write each. Counted with the driver's command monitoring.
 */
const client = new MongoClient(globalThis.testMongoUri, { monitorCommands: true })
await client.connect()
const db = client.db(`test_indexes_${crypto.randomUUID().slice(0, 8)}`)
const handle = attachDatabase(db)
const sent: CommandStartedEvent[] = []
client.on('commandStarted', (event) => sent.push(event))

afterAll(async () => {
  await db.dropDatabase()
  await client.close()
})

/** The commands `run` sends, by name. */
async function commandsOf(run: () => Promise<unknown>): Promise<string[]> {
  const from = sent.length
  await run()
  return sent.slice(from).map((event) => event.commandName)
}

const SPECS: IndexSpec[] = [
  { key: { name: 1 }, name: 'name_unique', unique: true },
  { key: { createdAt: -1, _id: -1 }, name: 'createdAt_id' },
]

describe('ensureIndexes', () => {
  it('creates the indexes of a collection that does not exist yet', async () => {
    const collection = db.collection('fresh')
    const commands = await commandsOf(() => ensureIndexes(handle, collection, SPECS))
    expect(commands.filter((name) => name === 'createIndexes')).toHaveLength(2)
    const listed = await collection.listIndexes().toArray()
    expect(listed.find((index) => index.name === 'name_unique')).toMatchObject({ key: { name: 1 }, unique: true })
    expect(listed.find((index) => index.name === 'createdAt_id')).toMatchObject({ key: { createdAt: -1, _id: -1 } })
    // The unique index holds.
    await collection.insertOne({ name: 'a' })
    await expect(collection.insertOne({ name: 'a' })).rejects.toMatchObject({ code: 11000 })
  })

  it('sends no write for indexes already there, as on every restart', async () => {
    const collection = db.collection('fresh')
    expect(await commandsOf(() => ensureIndexes(handle, collection, SPECS))).toEqual(['listIndexes'])
  })

  it('creates only the one missing', async () => {
    const collection = db.collection('fresh')
    const more: IndexSpec[] = [...SPECS, { key: { email: 1 }, name: 'email' }]
    expect(await commandsOf(() => ensureIndexes(handle, collection, more))).toEqual(['listIndexes', 'createIndexes'])
    expect((await collection.listIndexes().toArray()).map((index) => index.name)).toContain('email')
  })

  it('still sends a spec listed with other keys, so the server refuses it as before', async () => {
    const collection = db.collection('fresh')
    const reversed = [{ key: { name: -1 }, name: 'name_unique', unique: true }] satisfies IndexSpec[]
    // 86 IndexKeySpecsConflict on MongoDB and FerretDB alike.
    await expect(ensureIndexes(handle, collection, reversed)).rejects.toMatchObject({ code: 86 })
  })
})

describe('sameIndex', () => {
  const listed = { v: 2, key: { a: 1, b: -1 }, name: 'a_b', unique: true }
  it('is the same name, the same keys in the same order and the same options', () => {
    expect(sameIndex(listed, { key: { a: 1, b: -1 }, name: 'a_b', unique: true })).toBe(true)
    expect(sameIndex(listed, { key: { b: -1, a: 1 }, name: 'a_b', unique: true })).toBe(false)
    expect(sameIndex(listed, { key: { a: 1, b: 1 }, name: 'a_b', unique: true })).toBe(false)
    expect(sameIndex(listed, { key: { a: 1 }, name: 'a_b', unique: true })).toBe(false)
    expect(sameIndex(listed, { key: { a: 1, b: -1 }, name: 'other', unique: true })).toBe(false)
    expect(sameIndex(listed, { key: { a: 1, b: -1 }, name: 'a_b' })).toBe(false)
    expect(sameIndex(listed, { key: { a: 1, b: -1 }, name: 'a_b', unique: true, sparse: true })).toBe(false)
    expect(sameIndex({ ...listed, expireAfterSeconds: 0 }, { key: { a: 1, b: -1 }, name: 'a_b', unique: true })).toBe(false)
    expect(
      sameIndex({ ...listed, expireAfterSeconds: 0 }, { key: { a: 1, b: -1 }, name: 'a_b', unique: true, expireAfterSeconds: 0 }),
    ).toBe(true)
  })

  it('takes an index with an option it does not compare for another one, so the server decides (a review)', () => {
    const spec: IndexSpec = { key: { a: 1, b: -1 }, name: 'a_b', unique: true }
    // A partial unique index would enforce uniqueness on part of the collection only.
    expect(sameIndex({ ...listed, partialFilterExpression: { a: { $exists: true } } }, spec)).toBe(false)
    expect(sameIndex({ ...listed, collation: { locale: 'en', strength: 2 } }, spec)).toBe(false)
    expect(sameIndex({ ...listed, hidden: true }, spec)).toBe(false)
    // What servers list of any index: no difference.
    expect(sameIndex({ ...listed, ns: 'users.users', background: true }, spec)).toBe(true)
  })

  it('sends every spec when the database user may not list indexes (13 Unauthorized), as before listing', async () => {
    const created: string[] = []
    const unlisted = {
      collectionName: 'locked',
      listIndexes: () => ({ toArray: () => Promise.reject(Object.assign(new Error('not authorized'), { code: 13 })) }),
      createIndex: async (_key: unknown, options: { name: string }) => void created.push(options.name),
    } as unknown as Collection
    await ensureIndexes(handle, unlisted, SPECS)
    expect(created).toEqual(['name_unique', 'createdAt_id'])
  })
})

describe('the service restarting on its own database', () => {
  it('lists its indexes instead of sending each one again', async () => {
    const open = async () => {
      const stores = createStores(handle, { failureWindowSeconds: 900 })
      await stores.open()
      stores.close()
    }
    const first = await commandsOf(open)
    expect(first.filter((name) => name === 'createIndexes').length).toBeGreaterThan(15)
    const again = await commandsOf(open)
    // FerretDB accepts `sparse` but does not list it, so its two sparse indexes are sent again
    // there (answered as before: the index exists); MongoDB lists it, and gets none.
    const creates = sent.slice(-again.length).filter((event) => event.commandName === 'createIndexes')
    const names = creates.map((event) => (event.command.indexes as { name: string }[])[0]?.name)
    expect(names.every((name) => name === 'externalIdKey_unique' || name === 'outboxSince')).toBe(true)
    expect(again.filter((name) => !['listIndexes', 'createIndexes', 'find'].includes(name))).toEqual([])
  })

  it('knows an expiring collection is swept or TTL-indexed without asking the server to build again', async () => {
    const collection = db.collection<{ expiresAt: Date }>('expiring')
    const mode = await ensureExpiry(handle, collection)
    let again: Awaited<ReturnType<typeof ensureExpiry>> | undefined
    expect(await commandsOf(async () => (again = await ensureExpiry(handle, collection)))).toEqual(['listIndexes'])
    expect(again).toBe(mode)
  })
})

/**
 * A TCP relay in front of the test database that holds back the answer to every createIndexes for
 * `delayMs`: an index build that takes longer than the service's socket timeout, as one over a
 * large collection does on MongoDB.
 */
async function slowIndexBuilds(delayMs: number) {
  const target = new URL(globalThis.testMongoUri)
  const sockets = new Set<net.Socket>()
  let connections = 0
  const server = net.createServer((client) => {
    connections++
    const upstream = net.connect(Number(target.port), target.hostname)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => socket.destroy())
    }
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    let holdNext = false
    let answers = Promise.resolve()
    client.on('data', (chunk) => {
      if (chunk.includes('createIndexes')) holdNext = true
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      const hold = holdNext
      holdNext = false
      answers = answers.then(() => (hold ? Bun.sleep(delayMs) : undefined)).then(() => void client.write(chunk))
    })
  })
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
  return {
    uri: `mongodb://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    connections: () => connections,
    close() {
      for (const socket of sockets) socket.destroy()
      server.close()
    },
  }
}

describe('an index build longer than the socket timeout', () => {
  it('runs on a client without one, and is said before and after; a start that lists it builds nothing', async () => {
    const relay = await slowIndexBuilds(1500)
    const name = `test_slow_index_${crypto.randomUUID().slice(0, 8)}`
    const reports: { collection: string; index: string; documents: number; durationMs?: number }[] = []
    const database = await connectDatabase(relay.uri, name, { timeoutMs: 500, onIndexBuild: (build) => reports.push(build) })
    try {
      const collection = database.db.collection('slow')
      // The service's own client gives up on it at its socket timeout (what startup did before).
      await expect(collection.createIndex({ a: 1 }, { name: 'a' })).rejects.toThrow(/timed out/)
      await ensureIndexes(database, collection, [{ key: { b: 1 }, name: 'b' }])
      expect((await collection.listIndexes().toArray()).map((index) => index.name)).toContain('b')
      expect(reports[0]).toEqual({ collection: 'slow', index: 'b', documents: 0 })
      expect(reports[1]).toMatchObject({ collection: 'slow', index: 'b' })
      expect(reports[1]?.durationMs).toBeGreaterThanOrEqual(1400)
      // Listed on the next start: nothing is built, and no client (no connection) is made for it.
      reports.length = 0
      await database.indexBuildsDone()
      await collection.listIndexes().toArray()
      const connections = relay.connections()
      await ensureIndexes(database, collection, [{ key: { b: 1 }, name: 'b' }])
      expect(reports).toEqual([])
      expect(relay.connections()).toBe(connections)
    } finally {
      await database.db.dropDatabase().catch(() => {})
      await database.close()
      relay.close()
    }
  }, 20_000)
})

describe('what a start says of its index builds', () => {
  it('reports the documents a build is built over: none for a new collection, without asking', async () => {
    const name = `test_new_indexes_${crypto.randomUUID().slice(0, 8)}`
    const reports: { collection: string; index: string; documents: number; durationMs?: number }[] = []
    const database = await connectDatabase(globalThis.testMongoUri, name, { onIndexBuild: (build) => reports.push(build) })
    try {
      const fresh = database.db.collection('fresh')
      await ensureIndexes(database, fresh, SPECS)
      expect(reports.map(({ index, documents }) => [index, documents])).toEqual([
        ['name_unique', 0],
        ['name_unique', 0],
        ['createdAt_id', 0],
        ['createdAt_id', 0],
      ])
      // An index added to a collection with documents: a real build, with its count.
      await fresh.insertMany([{ name: 'a' }, { name: 'b' }, { name: 'c' }])
      reports.length = 0
      await ensureIndexes(database, fresh, [...SPECS, { key: { email: 1 }, name: 'email' }])
      expect(reports.map(({ index, documents }) => [index, documents])).toEqual([
        ['email', 3],
        ['email', 3],
      ])
    } finally {
      await database.db.dropDatabase().catch(() => {})
      await database.close()
    }
  })

  it("logs a first start's builds at debug, and a build over an existing collection at info", async () => {
    const name = `test_index_logs_${crypto.randomUUID().slice(0, 8)}`
    const env = { MONGODB_URI: globalThis.testMongoUri, MONGODB_DB: name, LOG_LEVEL: 'info' }
    const logOf = async () => {
      const server = await startServer(['bun', 'src/index.ts'], env)
      server.proc.kill('SIGTERM')
      await server.proc.exited
      return server.logs
        .join('')
        .split('\n')
        .filter((line) => line.includes('index'))
    }
    try {
      // The first start: about 30 indexes on new collections, none of them said at info.
      expect((await logOf()).filter((line) => line.includes('building an index') || line.includes('index built'))).toEqual([])
      // A release adding an index to `users` over users (here: one dropped): said before and after.
      await db.client.db(name).collection('users').insertOne({ username: 'someone' })
      await db.client.db(name).collection('users').dropIndex('createdAt_id')
      const lines = (await logOf()).filter((line) => line.includes('"index":"createdAt_id"'))
      expect(lines.map((line) => JSON.parse(line).msg)).toEqual([
        'building an index: the service listens once it is built',
        'index built',
      ])
      expect(lines.map((line) => [JSON.parse(line).level, JSON.parse(line).documents])).toEqual([
        [30, 1],
        [30, 1],
      ])
    } finally {
      await db.client.db(name).dropDatabase()
    }
  }, 30_000)
})

describe('minPoolSize in MONGODB_URI', () => {
  it('does not stop an index build: the build client keeps no minimum (a review: above 4 it refused to start)', async () => {
    const base = globalThis.testMongoUri
    const uri = `${base}${base.includes('?') ? '&' : base.endsWith('/') ? '?' : '/?'}minPoolSize=5`
    const database = await connectDatabase(uri, `test_min_pool_${crypto.randomUUID().slice(0, 8)}`)
    try {
      const collection = database.db.collection('pooled')
      await ensureIndexes(database, collection, [{ key: { c: 1 }, name: 'c' }])
      expect((await collection.listIndexes().toArray()).map((index) => index.name)).toContain('c')
    } finally {
      await database.db.dropDatabase().catch(() => {})
      await database.close()
    }
  })
})
