import type { EventBase, OutboxUser } from '../users/users.outbox'
import type { Batch, BatchEntry } from './events.model'
import { type ReplayedEvent, reachesStored, replay } from './events.replay'
import type { ChangeEvent } from './events.schemas'

/**
 * One relay batch, planned from the users' outboxes (docs/events.md, "One batch"): each user's
 * pending events replayed and checked against the stored user, then whole per-user prefixes
 * merged by time into one run of sequences. Pure: the relay does the I/O.
 */

/** A user's share of a batch: the events taken (a prefix of its outbox) with the bases they leave. */
export type UserShare = { user: OutboxUser; taken: ReplayedEvent[] }

export type Plan = { batch: Batch; events: ChangeEvent[]; shares: UserShare[] }

/** Why a user's events were left out: the replay did not reach the stored user. */
export type Refusal = { userId: string; storedVersion: number; replayedVersion: number }

/**
 * Plans the next batch after `lastSequence` from `users`: at most `maxEvents` events, each user's
 * taken in outbox order, users interleaved by the time of their next event. Users whose replay
 * does not reach what is stored are refused (never an event that is wrong).
 */
export function planBatch(
  users: readonly OutboxUser[],
  lastSequence: number,
  maxEvents: number,
): { plan: Plan | null; refused: Refusal[] } {
  const refused: Refusal[] = []
  // Each queue's times as numbers, read once: the merge compares them up to maxEvents × users times.
  const queues: { user: OutboxUser; events: ReplayedEvent[]; times: number[]; next: number }[] = []
  for (const user of users) {
    if (user.pending.length === 0) continue
    const { events, final } = replay(user)
    if (!reachesStored(user, final)) {
      refused.push({ userId: user.id, storedVersion: user.version, replayedVersion: final.version })
      continue
    }
    queues.push({ user, events, times: events.map((event) => event.source.occurredAt.getTime()), next: 0 })
  }
  const picked: { queue: (typeof queues)[number]; event: ReplayedEvent }[] = []
  while (picked.length < maxEvents) {
    let earliest: (typeof queues)[number] | undefined
    let earliestTime = Number.POSITIVE_INFINITY
    for (const queue of queues) {
      const time = queue.times[queue.next]
      if (time !== undefined && (!earliest || time < earliestTime)) {
        earliest = queue
        earliestTime = time
      }
    }
    if (!earliest) break
    picked.push({ queue: earliest, event: earliest.events[earliest.next++] as ReplayedEvent })
  }
  if (picked.length === 0) return { plan: null, refused }
  const entries: BatchEntry[] = []
  const events: ChangeEvent[] = []
  for (const [index, { queue, event }] of picked.entries()) {
    const sequence = lastSequence + 1 + index
    entries.push({ eventId: event.event.id, userId: queue.user.id, sequence, type: event.event.type })
    events.push({ ...event.event, sequence } as ChangeEvent)
  }
  const shares = queues.filter((q) => q.next > 0).map((q) => ({ user: q.user, taken: q.events.slice(0, q.next) }))
  return { plan: { batch: { first: lastSequence + 1, last: lastSequence + picked.length, entries }, events, shares }, refused }
}

/**
 * Rebuilds a recorded batch from the users as they are now, to finish it (the relay that recorded
 * it stopped): the same bases and pending events give the same events. Entries already taken off
 * their user's outbox were inserted before (events leave an outbox only after their insert).
 */
export function rebuildBatch(batch: Batch, users: readonly OutboxUser[]): { events: ChangeEvent[]; shares: UserShare[] } {
  const byUser = new Map(users.map((user) => [user.id, user]))
  const sequenceOf = new Map(batch.entries.map((entry) => [entry.eventId, entry.sequence]))
  const events: ChangeEvent[] = []
  const shares: UserShare[] = []
  for (const userId of new Set(batch.entries.map((entry) => entry.userId))) {
    const user = byUser.get(userId)
    if (!user) continue
    const replayed = replay(user).events
    // The batch's events still pending lead this user's outbox (only this batch takes from its front).
    let count = 0
    while (count < replayed.length && sequenceOf.has((replayed[count] as ReplayedEvent).source.id)) count++
    const taken = replayed.slice(0, count)
    for (const event of taken) events.push({ ...event.event, sequence: sequenceOf.get(event.source.id) } as ChangeEvent)
    if (taken.length > 0) shares.push({ user, taken })
  }
  return { events, shares }
}

/** The bases a share leaves, one per event taken. */
export const basesOf = (share: UserShare): EventBase[] => share.taken.map((event) => event.after)

/** Users an erasure in this batch concerns: their earlier events must keep ids only. */
export const erasedIn = (batch: Batch): string[] => [
  ...new Set(batch.entries.filter((entry) => entry.type === 'user.erased').map((entry) => entry.userId)),
]
