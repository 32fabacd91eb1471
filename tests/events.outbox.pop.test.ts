import { describe, expect, it } from 'bun:test'
import { type CommandStartedEvent, MongoClient, ObjectId } from 'mongodb'
import { attachDatabase } from '../src/db/calls'
import { replay } from '../src/events/events.replay'
import type { OutboxUser } from '../src/users/users.outbox'
import { createUsersOutbox, POP_CHUNK } from '../src/users/users.outbox.repository'
import { useTestApp } from './helpers/context'

/**
 * The relay's pop (src/users/users.outbox.repository.ts) on the run's server: users' relayed
 * events taken off in one write per few users, and each user on its own only when it changed
 * since the relay read it. Users are made and changed through the API; the pop runs on a client
 * with command monitoring, to count what it sends.
 */
const world = await useTestApp({ name: 'outbox_pop' })
const client = new MongoClient(globalThis.testMongoUri, { monitorCommands: true })
await client.connect()
const outbox = createUsersOutbox(attachDatabase(client.db(world.db.databaseName)))
const sent: CommandStartedEvent[] = []
client.on('commandStarted', (event) => sent.push(event))

type Stored = {
  version: number
  pendingEvents?: { id: string }[]
  eventBase?: { version: number; user?: object }
  outboxSince?: Date
}
const stored = async (id: string) => (await world.collection.findOne({ _id: new ObjectId(id) })) as unknown as Stored

const rename = async (id: string, displayName: string) => {
  const res = await world.raw(`/v1/users/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify({ displayName }),
  })
  expect(res.status).toBe(200)
}

/** `count` users, each with two pending events (created, renamed), as the relay reads them. */
async function pendingUsers(count: number): Promise<OutboxUser[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const user = await world.createUser({ displayName: `first ${i}` })
    await rename(user.id, `second ${i}`)
    ids.push(user.id)
  }
  const read = await outbox.read(ids)
  expect(read.map((user) => user.pending.length)).toEqual(ids.map(() => 2))
  return read
}

/** Every pending event of each user, with the bases the relay computes for them. */
const allOf = (users: OutboxUser[]) => users.map((user) => ({ user, bases: replay(user).events.map((event) => event.after) }))

/** Runs `work` and returns what it sent to the database, as `command collection` lines. */
async function commandsOf(work: () => Promise<unknown>) {
  sent.length = 0
  await work()
  return sent.map((event) => `${event.commandName} ${event.command[event.commandName]}`)
}

describe("the relay's pop", () => {
  it('takes the events of many users in writes of POP_CHUNK users at most, and a rerun takes nothing more', async () => {
    const users = await pendingUsers(2 * POP_CHUNK + 4)
    let erased: boolean[] = []
    expect(await commandsOf(async () => (erased = await outbox.pop(allOf(users))))).toEqual([
      'update users',
      'update users',
      'update users',
    ])
    expect(erased).toEqual(users.map(() => false))
    const statements = sent.map((event) => (event.command.updates as unknown[]).length)
    expect(statements).toEqual([POP_CHUNK, POP_CHUNK, 4])
    for (const user of users) {
      const after = await stored(user.id)
      expect(after.pendingEvents).toEqual([])
      expect(after.outboxSince).toBeUndefined()
      expect(after.eventBase?.version).toBe(2)
      expect(after.eventBase?.user).toMatchObject({ displayName: expect.stringMatching(/^second /) })
    }
    // The same pops again (a relay that reran its batch): nothing left to take, nothing changes.
    expect(await outbox.pop(allOf(users))).toEqual(users.map(() => false))
    for (const user of users) expect((await stored(user.id)).eventBase?.version).toBe(2)
  })

  it('takes the others in the same write when one user changed since the read, and that one event by event', async () => {
    const [first, changed, last] = await pendingUsers(3)
    if (!first || !changed || !last) throw new Error('three users expected')
    await rename(changed.id, 'third')
    let erased: boolean[] = []
    const commands = await commandsOf(async () => (erased = await outbox.pop(allOf([first, changed, last]))))
    expect(erased).toEqual([false, false, false])
    // One write for all three (two match), a point read of each to tell which, then the changed
    // user's two events one at a time and its outboxSince check: nothing for the two it popped.
    expect(commands).toEqual([
      'update users',
      'find users',
      'find users',
      'find users',
      'update users',
      'update users',
      'update users',
    ])
    expect(sent[0]?.command.updates).toHaveLength(3)
    for (const user of [first, last]) expect((await stored(user.id)).pendingEvents).toEqual([])
    // The change made after the read stays pending, on the base the two popped events leave.
    const kept = await stored(changed.id)
    expect(kept.pendingEvents?.map((event) => event.id)).toHaveLength(1)
    expect(kept.pendingEvents?.[0]?.id).not.toBe(changed.pending[0]?.id)
    expect(kept.pendingEvents?.[0]?.id).not.toBe(changed.pending[1]?.id)
    expect(kept.eventBase?.version).toBe(2)
    expect(kept.outboxSince).toBeInstanceOf(Date)
  })

  it('takes one event of users changed since the read in a second write, with no reads, leaving the newer events', async () => {
    // Each user with one pending event as read (its creation; the rename comes after the read).
    const created = [await world.createUser(), await world.createUser(), await world.createUser()]
    const read = await outbox.read(created.map((user) => user.id))
    expect(read.map((user) => user.pending.length)).toEqual([1, 1, 1])
    const [first, changed, last] = read
    if (!first || !changed || !last) throw new Error('three users expected')
    await rename(changed.id, 'renamed after the read')
    await rename(last.id, 'renamed after the read')
    let erased: boolean[] = []
    const commands = await commandsOf(async () => (erased = await outbox.pop(allOf(read))))
    expect(erased).toEqual([false, false, false])
    // The chunk's write (one user matches), then the head pops of all three (two match): 1 + 2 = 3.
    expect(commands).toEqual(['update users', 'update users'])
    expect(sent[1]?.command.updates).toHaveLength(3)
    expect((await stored(first.id)).pendingEvents).toEqual([])
    for (const user of [changed, last]) {
      const kept = await stored(user.id)
      // The creation is taken; the rename stays, on the base the creation left.
      expect(kept.pendingEvents).toHaveLength(1)
      expect(kept.pendingEvents?.[0]?.id).not.toBe(user.pending[0]?.id)
      expect(kept.eventBase?.version).toBe(1)
      expect(kept.outboxSince).toBeInstanceOf(Date)
    }
    // A rerun (a relay finishing the batch again) takes nothing more: the renames stay pending.
    expect(await outbox.pop(allOf(read))).toEqual([false, false, false])
    for (const user of [changed, last]) expect((await stored(user.id)).pendingEvents).toHaveLength(1)
  })

  it('does not take the head of a user erased since the read: the reads tell, and its base keeps the version only', async () => {
    const created = [await world.createUser(), await world.createUser()]
    const read = await outbox.read(created.map((user) => user.id))
    const [busy, erasedUser] = read
    if (!busy || !erasedUser) throw new Error('two users expected')
    await rename(busy.id, 'renamed after the read')
    expect((await world.raw(`/v1/users/${erasedUser.id}/erase`, { method: 'POST' })).status).toBe(204)
    const commands = await commandsOf(async () => expect(await outbox.pop(allOf(read))).toEqual([false, true]))
    // The chunk's write matches neither, the head pops only the busy one: 1 of 2, so reads follow.
    expect(commands.slice(0, 4)).toEqual(['update users', 'update users', 'find users', 'find users'])
    expect((await stored(busy.id)).pendingEvents).toHaveLength(1)
    const tombstone = await stored(erasedUser.id)
    expect(tombstone.pendingEvents).toHaveLength(1)
    expect(tombstone.eventBase).toEqual({ version: 1 })
  })

  it('says a user read erased is erased, in the one write and when another user sends the chunk on its own way', async () => {
    const [tombstone, other] = await pendingUsers(2)
    if (!tombstone || !other) throw new Error('two users expected')
    expect((await world.raw(`/v1/users/${tombstone.id}/erase`, { method: 'POST' })).status).toBe(204)
    const [read] = await outbox.read([tombstone.id])
    if (!read) throw new Error('the erased user expected')
    expect(read.erased).toBe(true)
    const [pop] = allOf([read])
    if (!pop) throw new Error('a pop expected')
    // Alone (its first event only): one write, and the answer as read.
    const first = { ...pop, bases: pop.bases.slice(0, 1) }
    expect(await commandsOf(async () => expect(await outbox.pop([first])).toEqual([true]))).toEqual(['update users'])
    // Beside a user changed since the read: the tombstone was popped by the write, and is told
    // erased from the read that follows (the relay scrubs its events on that answer).
    const [again] = await outbox.read([tombstone.id])
    if (!again) throw new Error('the erased user expected')
    await rename(other.id, 'changed again')
    expect(await outbox.pop(allOf([again, other]))).toEqual([true, false])
    expect((await stored(tombstone.id)).pendingEvents).toEqual([])
  })

  it('answers in the order asked, across writes, with pops that take nothing among them', async () => {
    const users = await pendingUsers(POP_CHUNK + 2)
    const lastIndex = users.length - 1
    expect((await world.raw(`/v1/users/${(users[lastIndex] as OutboxUser).id}/erase`, { method: 'POST' })).status).toBe(204)
    const pops = allOf(users).map((pop, index) => (index === 3 ? { ...pop, bases: [] } : pop))
    expect(await outbox.pop(pops)).toEqual(users.map((_, index) => index === lastIndex))
    expect((await stored((users[3] as OutboxUser).id)).pendingEvents).toHaveLength(2)
    for (const [index, user] of users.entries()) {
      if (index !== 3 && index !== lastIndex) expect((await stored(user.id)).pendingEvents).toEqual([])
    }
  })

  it('says a user erased since the read is erased, and leaves its base the version only', async () => {
    const [kept, erasedUser] = await pendingUsers(2)
    if (!kept || !erasedUser) throw new Error('two users expected')
    expect((await world.raw(`/v1/users/${erasedUser.id}/erase`, { method: 'POST' })).status).toBe(204)
    expect(await outbox.pop(allOf([kept, erasedUser]))).toEqual([false, true])
    expect((await stored(kept.id)).pendingEvents).toEqual([])
    const tombstone = await stored(erasedUser.id)
    // Left: the erasure's own event, on a base with the version only (never the user read before).
    expect(tombstone.pendingEvents).toHaveLength(1)
    expect(tombstone.eventBase).toEqual({ version: 2 })
  })

  it("sends a batch's writes at once, not one after another's answer", async () => {
    const users = await pendingUsers(2 * POP_CHUNK + 4)
    const real = attachDatabase(client.db(world.db.databaseName))
    // Each write is held until all three have been asked for (or 2 s have passed): written one
    // after another's answer, the first would wait for the others until the time ran out.
    let asked = 0
    let allAsked: () => void = () => {}
    const together = new Promise<'together'>((resolve) => {
      allAsked = () => resolve('together')
    })
    const waits: string[] = []
    const held = createUsersOutbox({
      ...real,
      call: async (operation) => {
        if (++asked === 3) allAsked()
        waits.push(await Promise.race([together, Bun.sleep(2000).then(() => 'timed out')]))
        return real.call(operation)
      },
    })
    await held.pop(allOf(users))
    expect(waits).toEqual(['together', 'together', 'together'])
    for (const user of users) expect((await stored(user.id)).pendingEvents).toEqual([])
  })

  it('throws a failed write only once every other write of the batch has its answer', async () => {
    const users = await pendingUsers(2 * POP_CHUNK + 4)
    const real = attachDatabase(client.db(world.db.databaseName))
    let calls = 0
    let answered = 0
    const failing = createUsersOutbox({
      ...real,
      call: async (operation) => {
        calls++
        if (calls === 2) throw new Error('the second write failed')
        const result = await real.call(operation)
        answered++
        return result
      },
    })
    const outcome = await failing.pop(allOf(users)).then(
      () => 'popped',
      (error: Error) => `${error.message}, ${answered} answered`,
    )
    expect(outcome).toBe('the second write failed, 2 answered')
  })

  it('sends nothing for pops that take no event', async () => {
    const [user] = await pendingUsers(1)
    if (!user) throw new Error('a user expected')
    expect(await commandsOf(() => outbox.pop([{ user, bases: [] }]))).toEqual([])
    expect((await stored(user.id)).pendingEvents).toHaveLength(2)
  })
})
