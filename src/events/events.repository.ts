import { type Collection, type Filter, MongoBulkWriteError } from 'mongodb'
import { COMMITTED_READS, type DatabaseHandle } from '../db/calls'
import { isDuplicateKeyError } from '../db/errors'
import { ensureIndexes } from '../db/indexes'
import type { EventsStore, RelayState } from './events.model'
import type { ChangeEvent, EventType } from './events.schemas'

/**
 * The events and the relay's state on MongoDB (docs/events.md, "Collections and documents"):
 * `events` holds `{ _id: <event id>, sequence, type, occurredAt, userId, userVersion, data }`, and
 * `events_state` the document `{ _id: 'relay', owner, token, leaseUntil, lastSequence,
 * visibleThrough, prunedThrough, batch }` (the lease's fields are src/db/lease.ts's). Every write
 * to the state carries the relay's fencing token in its filter. The webhook dispatcher reads
 * these same collections: their names and fields are a contract.
 */
export const EVENTS_COLLECTION = 'events'
export const EVENTS_STATE_COLLECTION = 'events_state'
export const RELAY_STATE_ID = 'relay'

/** An event as stored: the feed's event with its id as `_id` (the webhooks read the same documents). */
export type EventDocument = {
  _id: string
  sequence: number
  type: EventType
  occurredAt: Date
  userId: string
  userVersion: number
  data: ChangeEvent['data']
}

type StateDocument = Partial<RelayState> & { _id: string; token?: number }

export function createEventsRepository(database: DatabaseHandle): EventsStore {
  const { call } = database
  // Majority reads (COMMITTED_READS): the feed never shows a watermark or an event a failover can roll back.
  const events = database.db.collection<EventDocument>(EVENTS_COLLECTION, COMMITTED_READS)
  const states = database.db.collection<StateDocument>(EVENTS_STATE_COLLECTION, COMMITTED_READS)
  const listeners = new Set<(visibleThrough: number) => void>()
  const fenced = (token: number) => ({ _id: RELAY_STATE_ID, token })
  const readState = async (): Promise<RelayState> => {
    const doc = await call((limit) => states.findOne({ _id: RELAY_STATE_ID }, limit))
    return {
      lastSequence: doc?.lastSequence ?? 0,
      visibleThrough: doc?.visibleThrough ?? 0,
      prunedThrough: doc?.prunedThrough ?? 0,
      batch: doc?.batch ?? null,
    }
  }

  return {
    ensureIndexes: () => ensureStorage(database, events, states),

    state: readState,

    async record(token, lastSequence, batch) {
      const filter = { ...fenced(token), batch: null, lastSequence }
      const { matchedCount } = await call((limit) =>
        states.updateOne(filter, { $set: { batch, lastSequence: batch.last } }, limit),
      )
      return matchedCount === 1
    },

    insert: (list) => insertEvents(database, events, list),

    async commit(token, batch) {
      const { matchedCount } = await call((limit) =>
        states.updateOne(
          { ...fenced(token), 'batch.first': batch.first },
          { $set: { batch: null, visibleThrough: batch.last } },
          limit,
        ),
      )
      if (matchedCount !== 1) return false
      for (const listener of listeners) listener(batch.last)
      return true
    },

    async forgetUser(userId) {
      await call((limit) => events.updateMany({ userId }, { $set: { data: {} } }, limit))
    },

    async page({ after, through, types, userId, limit: count }) {
      const filter: Filter<EventDocument> = {
        sequence: { $gt: after, $lte: through },
        ...(types ? { type: { $in: [...types] } } : {}),
        ...(userId ? { userId } : {}),
      }
      const docs = await call((limit) => events.find(filter, limit).sort({ sequence: 1 }).limit(count).toArray())
      return docs.map(toEvent)
    },

    async prune(token, cutoff) {
      return prune(database, { events, states }, await readState(), token, cutoff)
    },

    onVisible(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

/** The events' indexes and the relay's state document (its relay fields; the lease may have inserted it first). */
async function ensureStorage(
  database: DatabaseHandle,
  events: Collection<EventDocument>,
  states: Collection<StateDocument>,
): Promise<void> {
  await Promise.all([
    ensureIndexes(database, events, [
      { key: { sequence: 1 }, name: 'sequence_unique', unique: true },
      { key: { userId: 1, sequence: 1 }, name: 'userId_sequence' },
      { key: { type: 1, sequence: 1 }, name: 'type_sequence' },
    ]),
    ensureRelayState(states),
  ])
}

/** The relay's fields on its state document, unless there already: a read at a restart, not a write. */
async function ensureRelayState(states: Collection<StateDocument>): Promise<void> {
  const relayState = { _id: RELAY_STATE_ID, lastSequence: { $exists: true } }
  if (await states.findOne(relayState, { projection: { _id: 1 } })) return
  try {
    await states.updateOne(
      { _id: RELAY_STATE_ID, lastSequence: { $exists: false } },
      { $set: { lastSequence: 0, visibleThrough: 0, prunedThrough: 0, batch: null } },
      { upsert: true },
    )
  } catch (error) {
    // It exists, with its relay fields: nothing to do.
    if (!isDuplicateKeyError(error)) throw error
  }
}

/** Inserts events; one already there (the same event, from an earlier run of its batch) is left as it is. */
async function insertEvents({ call }: DatabaseHandle, events: Collection<EventDocument>, list: ChangeEvent[]): Promise<void> {
  if (list.length === 0) return
  try {
    await call((limit) => events.insertMany(list.map(toDocument), { ...limit, ordered: false }))
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]
    if (writeErrors.some((writeError) => writeError.code !== 11000 && writeError.code !== 11001)) throw error
  }
}

/**
 * Retention: `prunedThrough` moves (fenced) to the sequence before the first event at or after
 * `cutoff`, then the events up to it are deleted, in that order, so a reader never meets a hole
 * without its 410.
 */
async function prune(
  { call }: DatabaseHandle,
  { events, states }: { events: Collection<EventDocument>; states: Collection<StateDocument> },
  state: RelayState,
  token: number,
  cutoff: Date,
): Promise<number | null> {
  const young = await call((limit) =>
    events
      .find({ sequence: { $gt: state.prunedThrough }, occurredAt: { $gte: cutoff } }, limit)
      .sort({ sequence: 1 })
      .limit(1)
      .toArray(),
  )
  const through = young[0] ? young[0].sequence - 1 : state.visibleThrough
  if (through <= state.prunedThrough) return state.prunedThrough
  const fenced = { _id: RELAY_STATE_ID, token }
  const { matchedCount } = await call((limit) => states.updateOne(fenced, { $max: { prunedThrough: through } }, limit))
  if (matchedCount !== 1) return null
  await call((limit) => events.deleteMany({ sequence: { $lte: through } }, limit))
  return through
}

function toDocument(event: ChangeEvent): EventDocument {
  return {
    _id: event.id,
    sequence: event.sequence,
    type: event.type,
    occurredAt: new Date(event.occurredAt),
    userId: event.userId,
    userVersion: event.userVersion,
    data: event.data,
  }
}

/** The feed's event object, field for field (API.md, "Change events"). */
export function toEvent(doc: EventDocument): ChangeEvent {
  return {
    id: doc._id,
    type: doc.type,
    sequence: doc.sequence,
    occurredAt: doc.occurredAt.toISOString(),
    userId: doc.userId,
    userVersion: doc.userVersion,
    data: doc.data,
  } as ChangeEvent
}
