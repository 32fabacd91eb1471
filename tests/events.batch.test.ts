import { describe, expect, test } from 'bun:test'
import { planBatch } from '../src/events/events.batch'
import { replay } from '../src/events/events.replay'
import type { OutboxEvent, OutboxUser } from '../src/users/users.outbox'
import type { User } from '../src/users/users.schemas'

// planBatch is pure: users built here with their outboxes, each stored as its replay leaves it.
const base = (id: string): User =>
  ({
    id,
    username: id,
    email: `${id}@example.com`,
    displayName: null,
    role: 'user',
    status: 'active',
    metadata: {},
    version: 1,
    createdAt: '2026-11-30T00:00:00.000Z',
    updatedAt: '2026-11-30T00:00:00.000Z',
  }) as unknown as User

/** A user whose outbox holds one rename per time given (seconds), in that order. */
function userWith(id: string, seconds: number[]): OutboxUser {
  const pending: OutboxEvent[] = seconds.map((s, i) => ({
    id: `evt_${id}_${i}`,
    type: 'user.updated',
    occurredAt: new Date(Date.UTC(2026, 10, 30, 1, 0, s)),
    set: { displayName: `${id}-${i}` },
  }))
  const user: OutboxUser = { id, version: 1, erased: false, base: { version: 1, user: base(id) }, pending }
  const { final } = replay(user)
  return { ...user, version: final.version, ...(final.user ? { current: final.user } : {}) }
}

const order = (users: OutboxUser[], maxEvents = 500) =>
  planBatch(users, 41, maxEvents).plan?.batch.entries.map((entry) => `${entry.eventId}@${entry.sequence}`)

describe('planBatch: one run of sequences from many outboxes', () => {
  test('interleaves users by the time of their next event, from the sequence after the last', () => {
    const a = userWith('a', [1, 4])
    const b = userWith('b', [2, 3])
    expect(order([a, b])).toEqual(['evt_a_0@42', 'evt_b_0@43', 'evt_b_1@44', 'evt_a_1@45'])
  })

  test("keeps each user's outbox order when its clock went back (an earlier time after a later one)", () => {
    const a = userWith('a', [5, 1])
    const b = userWith('b', [3])
    // a's second event is older than b's, but it cannot pass a's first: b's comes before both.
    expect(order([a, b])).toEqual(['evt_b_0@42', 'evt_a_0@43', 'evt_a_1@44'])
    // Once a's first is taken, its next (time 1) leads b's (time 6).
    expect(order([userWith('a', [5, 1]), userWith('b', [6])])).toEqual(['evt_a_0@42', 'evt_a_1@43', 'evt_b_0@44'])
  })

  test('breaks ties by the order the users were given', () => {
    expect(order([userWith('b', [2]), userWith('a', [2])])).toEqual(['evt_b_0@42', 'evt_a_0@43'])
    expect(order([userWith('a', [2]), userWith('b', [2])])).toEqual(['evt_a_0@42', 'evt_b_0@43'])
  })

  test("takes at most maxEvents, each user's share a prefix of its outbox", () => {
    const { plan } = planBatch([userWith('a', [1, 3, 5]), userWith('b', [2, 4])], 0, 3)
    expect(plan?.batch).toMatchObject({ first: 1, last: 3 })
    expect(plan?.shares.map((share) => [share.user.id, share.taken.map((event) => event.source.id)])).toEqual([
      ['a', ['evt_a_0', 'evt_a_1']],
      ['b', ['evt_b_0']],
    ])
  })

  test('leaves out a user whose replay does not reach what is stored, and plans nothing from nothing', () => {
    const stale = { ...userWith('a', [1]), version: 7 }
    const { plan, refused } = planBatch([stale, userWith('b', [2])], 0, 500)
    expect(refused).toEqual([{ userId: 'a', storedVersion: 7, replayedVersion: 2 }])
    expect(plan?.batch.entries.map((entry) => entry.userId)).toEqual(['b'])
    expect(planBatch([], 0, 500).plan).toBeNull()
  })
})
