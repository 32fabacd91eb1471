/**
 * Failed credential checks, counted per key (a login, a client) in fixed windows, in MongoDB so
 * every replica sees the same counts. A window starts at a key's first failure and ends
 * `windowSeconds` later.
 */
export interface FailedAttempts {
  /** Says whether the server expires windows itself (TTL index) or `sweep` must. */
  ensureIndexes(): Promise<'ttl-index' | 'sweep'>
  /** Seconds until every key is under its limit again; 0 when none is at it. */
  blockedFor(limits: { key: string; limit: number }[]): Promise<number>
  recordFailure(keys: string[]): Promise<void>
  reset(key: string): Promise<void>
  /** Deletes expired windows where the server has no TTL index; returns how many. */
  sweep(): Promise<number>
}
