import { COMMITTED_READS, type DatabaseHandle } from '../db/calls'
import {
  EVENTS_COLLECTION,
  EVENTS_STATE_COLLECTION,
  type EventDocument,
  RELAY_STATE_ID,
  toEvent,
} from '../events/events.repository'
import type { DispatcherCursor, EventHeader, EventSource } from './webhooks.model'

/**
 * What the webhooks read of the events (src/events/ writes them): the `events` collection, whose
 * documents are the feed's events with `_id` = id, and the relay's watermark `visibleThrough` in
 * `events_state` (`_id: 'relay'`): every event up to it is in `events`, and none above it may be
 * read (it may be in flight: reading it could show 12 before 11). Read only.
 *
 * The dispatcher's cursor lives in its own document of `events_state`, the one its lease uses
 * (`_id: 'webhook-dispatcher'`, src/db/lease.ts): `dispatchedThrough`, moved only with the lease's
 * token in the filter.
 */

export { EVENTS_STATE_COLLECTION }
export const DISPATCHER_LEASE_NAME = 'webhook-dispatcher'

type StateDocument = { _id: string; visibleThrough?: number; dispatchedThrough?: number; token?: number }

export function createEventSource(database: DatabaseHandle): EventSource {
  // Majority reads (COMMITTED_READS): no delivery for an event a failover can still roll back.
  const events = database.db.collection<EventDocument>(EVENTS_COLLECTION, COMMITTED_READS)
  const state = database.db.collection<StateDocument>(EVENTS_STATE_COLLECTION, COMMITTED_READS)
  return {
    async visibleThrough() {
      const relay = await database.call((limit) => state.findOne({ _id: RELAY_STATE_ID }, limit))
      return relay?.visibleThrough ?? 0
    },

    async headers(after, through, size): Promise<EventHeader[]> {
      if (through <= after) return []
      const documents = await database.call((limit) =>
        events
          .find(
            { sequence: { $gt: after, $lte: through } },
            { ...limit, projection: { _id: 1, type: 1, sequence: 1, userId: 1 } },
          )
          .sort({ sequence: 1 })
          .limit(size)
          .toArray(),
      )
      return documents.map(({ _id, type, sequence, userId }) => ({ id: _id, type, sequence, userId }))
    },

    async byId(id) {
      const document = await database.call((limit) => events.findOne({ _id: id }, limit))
      return document ? toEvent(document) : null
    },
  }
}

export function createDispatcherCursor(database: DatabaseHandle): DispatcherCursor {
  const state = database.db.collection<StateDocument>(EVENTS_STATE_COLLECTION, COMMITTED_READS)
  return {
    async read() {
      const document = await database.call((limit) => state.findOne({ _id: DISPATCHER_LEASE_NAME }, limit))
      return document?.dispatchedThrough ?? 0
    },
    async advance(token, through) {
      // $max: never backwards; the token: only the lease's holder.
      const { matchedCount } = await database.call((limit) =>
        state.updateOne({ _id: DISPATCHER_LEASE_NAME, token }, { $max: { dispatchedThrough: through } }, limit),
      )
      return matchedCount === 1
    },
  }
}
