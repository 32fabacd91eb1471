import type { ChangeEvent, EventType } from '../events/events.schemas'
import type { DeliveryErrorClass } from './webhooks.sender'
import type { StoredSecret } from './webhooks.signing'

/**
 * Webhook endpoints and deliveries as the stores keep them, and the stores' interfaces: what the
 * management service, the dispatcher and the workers depend on. No driver type appears here, so
 * none reaches the app's declarations (src/stores.ts builds the MongoDB implementations).
 */

/** The most endpoints the service keeps (each one multiplies the delivery work of every event). */
export const MAX_WEBHOOK_ENDPOINTS = 20

/** The attempts a delivery keeps in its log, oldest first. */
export const RECENT_ATTEMPTS = 10

export type StoredEndpoint = {
  id: string
  /** As the URL parser wrote it (`url.href`). */
  url: string
  /** Absent: every type, including types added later. */
  types?: EventType[]
  description?: string
  enabled: boolean
  /** Why the service disabled it (a 410 from the receiver); cleared when it is enabled again. */
  disabledReason?: 'gone'
  /** The current secret, and a replaced one during its 24 h of overlap. */
  secrets: StoredSecret[]
  /** It gets the events after this sequence: the feed's watermark when it was created or enabled. */
  startAfterSequence: number
  /**
   * Set when it is created or enabled again, until the dispatcher has fanned out to it every event
   * between startAfterSequence and the dispatcher's cursor (events the dispatcher passed while this
   * endpoint was being written: without this, a create racing a dispatch round could miss them).
   * Cleared only by a round whose lease is confirmed after the catch-up.
   */
  catchUp?: boolean
  /** Bumped by every change the API makes; writes are guarded by it. */
  version: number
  createdAt: Date
  updatedAt: Date
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed'

export type StoredAttempt = {
  at: Date
  durationMs: number
  statusCode?: number
  errorClass?: DeliveryErrorClass
  errorCode?: string
  responseBody?: string
  responseTruncated?: boolean
}

export type StoredDelivery = {
  id: string
  webhookId: string
  eventId: string
  eventType: EventType
  sequence: number
  /** The event's user: an erase clears what the receivers answered about it (recentAttempts). */
  userId: string
  /** Set by an erase of that user: attempts recorded from then on keep no response body. */
  userErased?: true
  status: DeliveryStatus
  /** Attempts made so far. */
  attempts: number
  /** While pending: when it is due. */
  nextAttemptAt?: Date
  recentAttempts: StoredAttempt[]
  createdAt: Date
  updatedAt: Date
}

/** The changes a guarded endpoint write makes: fields to set, fields to remove. */
export type EndpointChanges = {
  set: Partial<Omit<StoredEndpoint, 'id' | 'version' | 'createdAt' | 'updatedAt'>>
  unset: ('types' | 'description' | 'disabledReason')[]
}

/** A delivery taken for one attempt: `attempts` counts this one, `token` names the claim. */
export type ClaimedDelivery = StoredDelivery & { token: string }

/**
 * How an attempt's claim ends: the fields its outcome sets, and the attempt to append to
 * recentAttempts (appended, never the list read at claim time: an erase may have cleared it since).
 */
export type DeliveryResolution =
  | { status: 'succeeded' | 'failed'; attempt?: StoredAttempt; uncount?: true }
  | { status: 'pending'; nextAttemptAt: Date; attempt: StoredAttempt }

export interface WebhookEndpoints {
  ensureIndexes(): Promise<void>
  /** Inserts it unless MAX_WEBHOOK_ENDPOINTS exist already. */
  insert(endpoint: Omit<StoredEndpoint, 'version'>): Promise<'inserted' | 'limit_reached'>
  /** Every endpoint, oldest first. */
  list(): Promise<StoredEndpoint[]>
  get(id: string): Promise<StoredEndpoint | null>
  /** Applies `changes` if the endpoint is still at `version`; null when it moved on or is gone. */
  update(id: string, version: number, changes: EndpointChanges, now: Date): Promise<StoredEndpoint | null>
  /** Deletes it if it is still at `version`; false when it moved on or is gone. */
  delete(id: string, version: number): Promise<boolean>
  /** Disables an enabled endpoint with a reason (a 410 from its receiver). */
  disable(id: string, reason: 'gone', now: Date): Promise<boolean>
  /** Clears catchUp, unless the endpoint was enabled again since (startAfterSequence moved). */
  caughtUp(id: string, startAfterSequence: number): Promise<void>
  /** Calls `listener` after each insert or update made through this process; returns the unsubscribe. */
  onChange(listener: () => void): () => void
}

/** A page of one endpoint's deliveries, newest first. */
export type DeliveryPageQuery = { status?: DeliveryStatus; limit: number; before?: string }

export interface WebhookDeliveries {
  ensureIndexes(): Promise<void>
  /** Inserts what is not there yet (unique per endpoint and event); how many were new. */
  insertMany(deliveries: StoredDelivery[]): Promise<number>
  /** Takes the most overdue pending delivery of an endpoint not in `excluded`, for one attempt. */
  claim(now: Date, leaseMs: number, excluded: readonly string[]): Promise<ClaimedDelivery | null>
  /** Records how the claim ended; false when the claim was lost meanwhile (nothing recorded). */
  resolve(claim: ClaimedDelivery, resolution: DeliveryResolution, now: Date): Promise<boolean>
  /** Removes a delivery whose endpoint is gone, if the claim still holds it. */
  discard(claim: ClaimedDelivery): Promise<void>
  page(webhookId: string, query: DeliveryPageQuery): Promise<StoredDelivery[]>
  get(webhookId: string, id: string): Promise<StoredDelivery | null>
  /** Pending again, due now, any claim dropped; null when there is no such delivery. */
  retryNow(webhookId: string, id: string, now: Date): Promise<StoredDelivery | null>
  /** Calls `listener` when this process made a delivery due now (a manual retry); returns what removes it. */
  onDue(listener: () => void): () => void
  /**
   * Moves an endpoint's pending deliveries that are due before `until` (and no attempt holds) to
   * `until`: its circuit breaker paused it, for every instance.
   */
  postpone(webhookId: string, until: Date): Promise<number>
  /** Fails an endpoint's pending deliveries that no attempt holds (it was disabled). */
  failPending(webhookId: string, now: Date): Promise<number>
  /** Deliveries waiting to be sent, all endpoints (the work queue's size, from its metadata on MongoDB). */
  waiting(): Promise<number>
  deleteFor(webhookId: string): Promise<number>
  /**
   * Forgets what receivers answered about a user's events (an erase): the response bodies in
   * recentAttempts may echo the user's values. The attempts' count and the statuses stay, and the
   * deliveries are marked (`userErased`) so that an attempt finishing later records no body.
   */
  forgetUser(userId: string): Promise<void>
  /** Deletes finished deliveries last changed before `before`. */
  prune(before: Date): Promise<number>
  /**
   * Queues again any pending delivery that has no queue entry (a crash between the two writes
   * that create or retry one), if it was last changed before `before`; how many.
   */
  repair(before: Date): Promise<number>
}

/** The dispatcher's view of an event: enough to fan it out. */
export type EventHeader = { id: string; type: EventType; sequence: number; userId: string }

/**
 * The events feed as the webhooks read it (the events collection and the relay's watermark, kept
 * by src/events/): read only, never above the watermark.
 */
export interface EventSource {
  /** Every event up to this sequence is in the events collection; none above it may be read. */
  visibleThrough(): Promise<number>
  /** Events with `after < sequence <= through`, in sequence order, at most `limit`. */
  headers(after: number, through: number, limit: number): Promise<EventHeader[]>
  /** The event as the feed shows it (its data as it is now: an erasure shows), or null if pruned. */
  byId(id: string): Promise<ChangeEvent | null>
}

/** The dispatcher's cursor, in its lease document; writes fenced by the lease's token. */
export interface DispatcherCursor {
  /** Every event up to this sequence has been fanned out (0 at first). */
  read(): Promise<number>
  /** Moves the cursor forward to `through`, only while `token` is the lease's; false otherwise. */
  advance(token: number, through: number): Promise<boolean>
}

/** Everything the webhooks keep, built on one database by src/stores.ts. */
export type WebhookStores = {
  endpoints: WebhookEndpoints
  deliveries: WebhookDeliveries
  events: EventSource
  cursor: DispatcherCursor
}
