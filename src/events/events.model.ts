import type { ChangeEvent, EventType } from './events.schemas'

/**
 * What the relay and the feed need from storage, in the API's types: no driver type reaches
 * these signatures (events.repository.ts implements them on MongoDB). The collections and their
 * documents are named in docs/events.md; the webhook dispatcher reads the same ones.
 */

/** One event of a recorded batch: ids and its type only, never a value of the user. */
export type BatchEntry = { eventId: string; userId: string; sequence: number; type: EventType }

/** A batch recorded by the relay and not yet committed: sequences first..last, in order. */
export type Batch = { first: number; last: number; entries: BatchEntry[] }

/** The relay's state (`events_state`, `_id: 'relay'`), beside its lease. */
export type RelayState = {
  /** The highest sequence handed out. */
  lastSequence: number
  /** The watermark: every event up to it is in `events`; the feed shows nothing above it. */
  visibleThrough: number
  /** Retention: events up to it may be gone; a cursor below it gets 410. */
  prunedThrough: number
  batch: Batch | null
}

export type FeedQuery = {
  /** Events with a sequence above this... */
  after: number
  /** ...and at most this (the watermark read with it). */
  through: number
  types?: readonly EventType[]
  userId?: string
  limit: number
}

export interface EventsStore {
  /** Creates the indexes and the relay's state document; idempotent, called at startup. */
  ensureIndexes(): Promise<void>
  /** The relay's state (a point read). */
  state(): Promise<RelayState>
  /** Records `batch` if the lease is still `token`'s and nothing was recorded since `lastSequence`; false otherwise. */
  record(token: number, lastSequence: number, batch: Batch): Promise<boolean>
  /** Inserts events (their ids are their `_id`s); one already there is left as it is. */
  insert(events: ChangeEvent[]): Promise<void>
  /** Clears `batch` and moves the watermark to its last sequence, if the lease is still `token`'s. */
  commit(token: number, batch: Batch): Promise<boolean>
  /** Empties `data` of every event of the user (erase: earlier events keep ids only). */
  forgetUser(userId: string): Promise<void>
  /** A page of the feed, in sequence order. */
  page(query: FeedQuery): Promise<ChangeEvent[]>
  /**
   * Retention: moves `prunedThrough` to the last sequence before the first event at or after
   * `cutoff` (if the lease is still `token`'s), then deletes the events up to it. The new value,
   * or null when the lease was lost.
   */
  prune(token: number, cutoff: Date): Promise<number | null>
  /** Calls `listener` with the new watermark each time this process commits a batch. */
  onVisible(listener: (visibleThrough: number) => void): () => void
}
