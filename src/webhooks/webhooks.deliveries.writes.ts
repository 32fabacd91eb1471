import type { DatabaseHandle } from '../db/calls'
import type { Collection, Filter, UpdateFilter } from '../db/driver'
import {
  type ClaimedDelivery,
  type DeliveryResolution,
  RECENT_ATTEMPTS,
  type StoredAttempt,
  type StoredDelivery,
} from './webhooks.model'

/**
 * The deliveries' stored shapes (webhooks.deliveries.repository.ts has the design), and how an
 * attempt's outcome is recorded.
 */

export type DeliveryDocument = Omit<StoredDelivery, 'id'> & { _id: string }
export type QueueDocument = {
  _id: string
  webhookId: string
  nextAttemptAt: Date
  attempts: number
  lease?: { token: string; until: Date }
}
export type Store = { database: DatabaseHandle; log: Collection<DeliveryDocument>; queue: Collection<QueueDocument> }

/**
 * Records how a claim ended, if the claim still holds: the log entry first, then the queue entry
 * removed or rescheduled under the claim's token. False when the claim was lost (nothing recorded).
 */
export async function resolveDelivery(
  store: Store,
  claim: ClaimedDelivery,
  resolution: DeliveryResolution,
  now: Date,
): Promise<boolean> {
  const { database, queue } = store
  const entry = await database.call((limit) => queue.findOne({ _id: claim.id }, limit))
  if (entry?.lease?.token !== claim.token) return false // retried by hand, or taken over: not ours to record
  const pending = resolution.status === 'pending'
  const attempts = !pending && resolution.uncount ? claim.attempts - 1 : claim.attempts
  const set = {
    status: resolution.status,
    attempts,
    updatedAt: now,
    ...(pending ? { nextAttemptAt: resolution.nextAttemptAt } : {}),
  }
  const update: UpdateFilter<DeliveryDocument> = { $set: set, ...(pending ? {} : { $unset: { nextAttemptAt: '' } }) }
  await recordOutcome(store, claim, update, resolution.attempt)
  const mine = { _id: claim.id, 'lease.token': claim.token }
  if (pending) {
    await database.call((limit) =>
      queue.updateOne(mine, { $set: { nextAttemptAt: resolution.nextAttemptAt, attempts }, $unset: { lease: '' } }, limit),
    )
  } else {
    await database.call((limit) => queue.deleteOne(mine, limit))
  }
  return true
}

/**
 * The log entry's outcome with the attempt appended to recentAttempts as they are now: never the
 * list read at claim time written back, which would undo an erase that ran during the attempt
 * (docs/events.md, "Erase"). An entry an erase marked (`userErased`), before or during the
 * attempt, gets the attempt without what the receiver answered (it may echo the user's values).
 * Each write is one atomic update of one document, so an erase's forgetUser lands either before
 * (the mark is seen) or after (it clears the attempt).
 */
async function recordOutcome(
  { database, log }: Store,
  claim: ClaimedDelivery,
  update: UpdateFilter<DeliveryDocument>,
  attempt: StoredAttempt | undefined,
): Promise<void> {
  if (!attempt) {
    await database.call((limit) => log.updateOne({ _id: claim.id }, update, limit))
    return
  }
  const appending = (element: StoredAttempt): UpdateFilter<DeliveryDocument> => ({
    ...update,
    $push: { recentAttempts: { $each: [element], $slice: -RECENT_ATTEMPTS } },
  })
  const live = await database.call((limit) =>
    log.updateOne({ _id: claim.id, userErased: { $exists: false } }, appending(attempt), limit),
  )
  if (live.matchedCount === 0) {
    const { responseBody: _body, responseTruncated: _truncated, ...bare } = attempt
    await database.call((limit) => log.updateOne({ _id: claim.id }, appending(bare), limit))
  }
  // MongoDB applies $slice; FerretDB ignores it (measured), so the oldest beyond the bound go here.
  // Only a list that was full at the claim can overflow; on MongoDB this finds nothing to take.
  if (claim.recentAttempts.length < RECENT_ATTEMPTS) return
  const overflowing = { _id: claim.id, [`recentAttempts.${RECENT_ATTEMPTS}`]: { $exists: true } } as Filter<DeliveryDocument>
  for (;;) {
    const { matchedCount } = await database.call((limit) => log.updateOne(overflowing, { $pop: { recentAttempts: -1 } }, limit))
    if (matchedCount === 0) return
  }
}
