import { afterAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MongoClient, ObjectId } from 'mongodb'
import { DataDirInUseError, type EmbeddedDatabase, startEmbeddedDatabase } from '../src/db/embedded'

/**
 * The embedded database's launcher (tools/devdb) restores MongoDB's single-document atomicity,
 * which FerretDB v1 lacks. Each race runs against a launcher with the write lock and, as the
 * control that shows the test can fail, against one started with -no-write-lock.
 */
const started: { db: EmbeddedDatabase; client: MongoClient; dir: string }[] = []

async function launch(args: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'devdb-test-'))
  const db = await startEmbeddedDatabase({ dataDir: dir, launcherArgs: args })
  const client = new MongoClient(db.uri, { maxPoolSize: 60 })
  await client.connect()
  started.push({ db, client, dir })
  return client.db('race').collection<{ _id: ObjectId; version: number; n: number }>('docs')
}

afterAll(async () => {
  for (const { db, client, dir } of started) {
    await client.close()
    await db.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

type Docs = Awaited<ReturnType<typeof launch>>

/** 20 concurrent findOneAndUpdate guarded by the same version: how many won. */
async function guardedWinners(docs: Docs): Promise<number> {
  const { insertedId } = await docs.insertOne({ _id: new ObjectId(), version: 1, n: 0 })
  const results = await Promise.all(
    Array.from({ length: 20 }, () =>
      docs.findOneAndUpdate({ _id: insertedId, version: 1 }, { $inc: { version: 1 } }, { returnDocument: 'after' }),
    ),
  )
  return results.filter(Boolean).length
}

/** 50 concurrent $inc on one document: how much it grew. */
async function incremented(docs: Docs): Promise<number> {
  const { insertedId } = await docs.insertOne({ _id: new ObjectId(), version: 1, n: 0 })
  await Promise.all(Array.from({ length: 50 }, () => docs.updateOne({ _id: insertedId }, { $inc: { n: 1 } })))
  return (await docs.findOne({ _id: insertedId }))!.n
}

describe('embedded database launcher', () => {
  it('gives exactly one winner to 20 concurrent version-guarded updates, every round', async () => {
    const docs = await launch()
    const winners = [await guardedWinners(docs), await guardedWinners(docs), await guardedWinners(docs)]
    expect(winners).toEqual([1, 1, 1])
  })

  it('counts all 50 concurrent $inc on one document, every round', async () => {
    const docs = await launch()
    expect([await incremented(docs), await incremented(docs), await incremented(docs)]).toEqual([50, 50, 50])
  })

  it('control: without the write lock, FerretDB loses concurrent updates', async () => {
    const docs = await launch(['-no-write-lock'])
    // Five rounds of each: losing updates without the lock was seen in every round measured here.
    const totals: number[] = []
    const winners: number[] = []
    for (let round = 0; round < 5; round++) {
      totals.push(await incremented(docs))
      winners.push(await guardedWinners(docs))
    }
    // The same assertions as above would fail here: that is what the lock is for.
    expect(totals.some((n) => n < 50) || winners.some((w) => w > 1)).toBe(true)
  })
})

/**
 * FerretDB v1.24.2 indexes `_id` on one SQLite expression and looks documents up with another, so
 * every point read and every write to an existing document scanned the whole table (about 50 ms at
 * 10,000 users). The launcher adds the index its lookups can use; FerretDB's `explain` shows
 * SQLite's own plan. The control runs a launcher without it.
 */
describe('_id lookups', () => {
  /** SQLite's plan for a find by _id, as FerretDB's explain reports it. */
  async function planOfFindById(args: string[] = []): Promise<string[]> {
    const docs = await launch(args)
    const id = new ObjectId()
    await docs.insertMany([{ _id: id, version: 1, n: 0 }])
    await docs.insertOne({ _id: new ObjectId(), version: 1, n: 0 })
    const explained = await docs.db.command({ explain: { find: docs.collectionName, filter: { _id: id } } })
    return explained.queryPlanner.Plan as string[]
  }
  const usesIndex = (plan: string[]) => plan.some((line) => /SEARCH \S+ USING INDEX \S+__devdb_id_lookup/.test(line))

  it('use an index: a search, not a scan of the table', async () => {
    const plan = await planOfFindById()
    expect(usesIndex(plan)).toBe(true)
    expect(plan.join('\n')).not.toContain('SCAN')
  })

  it('use it again after the collection or its database is dropped and made anew', async () => {
    const docs = await launch()
    const plan = async () => {
      const id = new ObjectId()
      await docs.insertOne({ _id: id, version: 1, n: 0 })
      await docs.updateOne({ _id: id }, { $inc: { n: 1 } })
      return (await docs.db.command({ explain: { find: docs.collectionName, filter: { _id: id } } })).queryPlanner.Plan
    }
    expect(usesIndex(await plan())).toBe(true)
    await docs.drop()
    expect(usesIndex(await plan())).toBe(true)
    await docs.db.dropDatabase()
    expect(usesIndex(await plan())).toBe(true)
    expect(await docs.countDocuments()).toBe(1)
  })

  it('never makes a file for a database name FerretDB refuses', async () => {
    const docs = await launch()
    await docs.insertOne({ _id: new ObjectId(), version: 1, n: 0 })
    const { client, dir } = started.at(-1)!
    const before = readdirSync(dir).sort()
    // A NUL ends the file name SQLite is given: without the name check, "evil" was created.
    for (const name of ['evil\u0000', 'evil\u0000x', 'sub/evil']) {
      const odd = client.db(name).collection('docs')
      await odd.insertOne({ n: 1 }).catch(() => {})
      await odd.updateOne({ n: 1 }, { $set: { n: 2 } }).catch(() => {})
    }
    expect(readdirSync(dir).sort()).toEqual(before)
  })

  it('control: without it, FerretDB scans the table for a find by _id', async () => {
    const plan = await planOfFindById(['-no-id-index'])
    expect(usesIndex(plan)).toBe(false)
    expect(plan.join('\n')).toContain('SCAN')
  })
})

/**
 * FerretDB pushes a filter down to SQLite only when it is exactly `{ _id }`, so a guarded write
 * (`{ _id, version }`: the If-Match guard, the relay's pops) read the collection document by
 * document until its first match. The launcher is built from FerretDB's sources with that check
 * widened to any filter holding an `_id` equality (tools/devdb/ferretdb-patches.json); FerretDB
 * filters what SQLite returns by the whole filter again, so what matches is unchanged.
 */
describe('filters with an _id and more', () => {
  async function threeDocs() {
    const docs = await launch()
    const ids = [new ObjectId(), new ObjectId(), new ObjectId()]
    // Two writes: the launcher adds its _id index at the first write after the table exists.
    await docs.insertOne({ _id: ids[0] as ObjectId, version: 1, n: 0 })
    await docs.insertMany(ids.slice(1).map((_id, n) => ({ _id, version: 1, n: n + 1 })))
    return { docs, ids }
  }

  it('are looked up by the index, not by reading the table', async () => {
    const { docs, ids } = await threeDocs()
    for (const filter of [
      { _id: ids[2], version: 1 },
      { version: 2, _id: ids[1], n: { $gt: 0 } },
    ]) {
      const explained = await docs.db.command({ explain: { find: docs.collectionName, filter } })
      const plan = (explained.queryPlanner.Plan as string[]).join('\n')
      expect(plan).toMatch(/SEARCH \S+ USING INDEX \S+__devdb_id_lookup/)
      expect(plan).not.toContain('SCAN')
    }
  })

  it('match what the whole filter matches, in every command', async () => {
    const { docs, ids } = await threeDocs()
    const [a, b, c] = ids as [ObjectId, ObjectId, ObjectId]
    expect(await docs.findOne({ _id: a, version: 2 })).toBeNull()
    expect((await docs.findOne({ n: 0, _id: a, version: 1 }))?.n).toBe(0)
    expect(await docs.countDocuments({ _id: b, n: 0 })).toBe(0)
    expect(await docs.countDocuments({ _id: b, $or: [{ n: 0 }, { n: 1 }] })).toBe(1)
    expect((await docs.updateOne({ _id: b, version: 2 }, { $set: { n: 9 } })).matchedCount).toBe(0)
    expect((await docs.updateOne({ _id: b, version: 1 }, { $inc: { version: 1 } })).matchedCount).toBe(1)
    expect(await docs.findOneAndUpdate({ _id: b, version: 1 }, { $set: { n: 9 } })).toBeNull()
    const bulk = await docs.bulkWrite(
      [
        { updateOne: { filter: { _id: a, version: 1 }, update: { $set: { n: 10 } } } },
        { updateOne: { filter: { _id: c, version: 5 }, update: { $set: { n: 10 } } } },
      ],
      { ordered: false },
    )
    expect(bulk.matchedCount).toBe(1)
    expect((await docs.deleteOne({ _id: c, n: 0 })).deletedCount).toBe(0)
    expect(await docs.find({ _id: { $in: [a, b, c] }, version: 1 }).toArray()).toHaveLength(2)
    const all = await docs.find({}, { sort: { n: 1 } }).toArray()
    expect(all.map(({ version, n }) => [version, n])).toEqual([
      [2, 1],
      [1, 2],
      [1, 10],
    ])
  })
})

/**
 * Issue 13, finding 9: two launchers on one data folder each serialized only their own writes,
 * and two `bun run dev` side by side lost acknowledged changes. One launcher per folder now: an
 * flock that dies with its process.
 */
describe('one launcher per data folder', () => {
  const root = new URL('..', import.meta.url).pathname

  /** A launcher on a fresh folder, tracked for afterAll. */
  async function holder() {
    const dir = mkdtempSync(join(tmpdir(), 'devdb-lock-'))
    const db = await startEmbeddedDatabase({ dataDir: dir })
    const client = new MongoClient(db.uri)
    started.push({ db, client, dir })
    return { dir, db }
  }

  it('refuses a second launcher on the same folder with one line naming the folder and the PID holding it', async () => {
    const { dir, db } = await holder()
    const second = await startEmbeddedDatabase({ dataDir: dir }).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(second).toBeInstanceOf(DataDirInUseError)
    const message = (second as Error).message
    expect(message).not.toContain('\n')
    expect(message).toContain(dir)
    expect(message).toContain(`PID ${db.pid}`)
    expect(message).toContain(`started by PID ${process.pid}`)
    // The first one still serves.
    const client = new MongoClient(db.uri)
    await client.db('lock').collection('docs').insertOne({ ok: 1 })
    await client.close()
  })

  it('frees the folder when the launcher ends, even by kill -9', async () => {
    const { dir, db } = await holder()
    process.kill(db.pid, 'SIGKILL')
    await db.stop()
    const next = await startEmbeddedDatabase({ dataDir: dir })
    started.push({ db: next, client: new MongoClient(next.uri), dir })
    expect(next.uri).toStartWith('mongodb://')
  })

  it('stops a second dev server on the same folder with that line, before it serves', async () => {
    const { dir, db } = await holder()
    const proc = Bun.spawn(['bun', 'src/index.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_FORMAT: 'json', DEVDB_DATA_DIR: dir },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
    expect(await proc.exited).toBe(1)
    clearTimeout(killer)
    const stderr = (await new Response(proc.stderr).text()).trim()
    expect(stderr.split('\n')).toHaveLength(1)
    expect(stderr).toStartWith('users-service: cannot start: the data folder')
    expect(stderr).toContain(dir)
    expect(stderr).toContain(`PID ${db.pid}`)
    expect(await new Response(proc.stdout).text()).not.toContain('users-service listening')
  }, 30_000)

  it('bun run db keeps its data in DEVDB_DATA_DIR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devdb-env-'))
    const proc = Bun.spawn(['bun', 'scripts/devdb.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', DEVDB_DATA_DIR: dir },
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      const reader = proc.stdout.getReader()
      const { value } = await reader.read()
      expect(new TextDecoder().decode(value)).toStartWith('mongodb://')
      expect(readFileSync(join(dir, 'devdb.lock'), 'utf8')).toMatch(/^\d+ \d+\n$/)
    } finally {
      proc.kill('SIGTERM')
      await proc.exited
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})
