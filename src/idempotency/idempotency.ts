/** A response kept for replay: what a retry with the same key and body gets back. */
export type StoredResponse = { status: number; headers: Record<string, string>; body: unknown }

/**
 * The outcome of claiming a key. `claimed`: this request runs, and `owner` identifies its claim,
 * so a late finisher cannot touch a key taken over meanwhile. `replay`: already answered.
 * `reused`: the key came with another body. `in_flight`: the first request still runs.
 */
export type Claim =
  | { kind: 'claimed'; owner: string }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'reused' }
  | { kind: 'in_flight' }

/**
 * Idempotency keys, shared by every instance through the database. A key is scoped to its caller
 * and lives 24 hours.
 */
export interface IdempotencyStore {
  ensureIndexes(): Promise<'ttl-index' | 'sweep'>
  /** Takes the key for this request, or says why not: already answered, other body, still running. */
  claim(scope: string, key: string, fingerprint: string): Promise<Claim>
  /** Keeps the answer for replays; `userId` names the user it created, so an erase can find it. */
  complete(scope: string, key: string, owner: string, response: StoredResponse, userId?: string): Promise<void>
  /** Gives the key up (the request failed in a way a retry may fix). */
  release(scope: string, key: string, owner: string): Promise<void>
  sweep(): Promise<number>
  /**
   * Erases what the records of creates of this user hold about it (the response body, the request's
   * fingerprint). The key stays taken until it expires, and a retry with it is refused (422) rather
   * than creating the erased user again.
   */
  forgetUser(userId: string): Promise<void>
}

/**
 * `store`, whose `complete` looks again at the user a kept answer is about and forgets the record
 * when the user is gone by then (erased, or deleted for good). An erase forgets the records it
 * finds before and again after its tombstone (app.ts); a create's record written after that (the
 * eraser learned the new id from the feed or a list before the create's answer was kept) would
 * keep the user's values for a day. Single-document writes are ordered: a record written before
 * the second forget is found by it; one written after it is followed by this read, which finds the
 * tombstone.
 */
export function forgettingGoneUsers(store: IdempotencyStore, isGone: (userId: string) => Promise<boolean>): IdempotencyStore {
  return {
    ...store,
    async complete(scope, key, owner, response, userId) {
      await store.complete(scope, key, owner, response, userId)
      if (userId !== undefined && (await isGone(userId))) await store.forgetUser(userId)
    },
  }
}
