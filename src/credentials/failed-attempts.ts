/**
 * Credential-check attempts, counted per key (a login, a client) in fixed windows, in the
 * database so every replica sees the same counts. An attempt is counted before the password is
 * checked, atomically, so a burst of parallel guesses cannot all slip in under the limit; a right
 * password then clears the login's count and gives the client its attempt back. A window starts
 * at a key's first attempt and ends `windowSeconds` later.
 */
export interface FailedAttempts {
  /** Says whether the server expires windows itself (TTL index) or `sweep` must. */
  ensureIndexes(): Promise<'ttl-index' | 'sweep'>
  /** Counts one attempt on every key; resolves to the seconds to wait if any key is now over its limit, else 0. */
  take(limits: { key: string; limit: number }[]): Promise<number>
  /** Forgets a key's attempts (after a right password). */
  reset(key: string): Promise<void>
  /** Gives one attempt back to a key (a right password is not a failure). */
  refund(key: string): Promise<void>
  /** Deletes expired windows where the server has no TTL index; returns how many. */
  sweep(): Promise<number>
  /**
   * Forgets every count about a user being erased: the ones kept under its id and under each
   * login (username, email) that named it, in any case. Counts per client are not about the user.
   */
  forgetSubjects(subject: { userId: string; logins: string[] }): Promise<void>
}
