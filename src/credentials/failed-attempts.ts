/**
 * Credential-check attempts, counted in fixed windows in the database so every replica sees the
 * same counts. A request takes one attempt from each counter it is counted on, in order, each only
 * while that counter is under its limit (one atomic write per counter); if one is at its limit,
 * what the request took from the others is given back, so a refused request changes no count. A
 * right password then clears its login's count and gives the broader counter its attempt back, so
 * the counts are failures. A window starts at a counter's first attempt and ends `windowSeconds`
 * later.
 *
 * Counters are stored under keyed digests (HMAC-SHA-256) of what they count: no login, user id,
 * address or client name is readable in the collection.
 */
export interface FailedAttempts {
  /** Says whether the server expires windows itself (TTL index) or `sweep` must. */
  ensureIndexes(): Promise<'ttl-index' | 'sweep'>
  /**
   * Takes one attempt from every counter, in the order given (the broadest first), each only while
   * under its limit. Resolves to null when every counter took it, else to the first counter at its
   * limit and the seconds until its window ends; then no counter has changed.
   */
  take(counters: LimitedCounter[]): Promise<Refusal | null>
  /** Forgets a counter's attempts (a login's, after a right password). */
  reset(counter: Counter): Promise<void>
  /** Gives one attempt back to a counter (a right password is not a failure). */
  refund(counter: Counter): Promise<void>
  /**
   * Deletes every counter of a user (an erasure): those counting its id and those counting its
   * logins (username, email; any case), from any address.
   */
  forgetSubjects(subject: { userId: string; logins: string[] }): Promise<void>
  /** Deletes expired windows where the server has no TTL index; returns how many. */
  sweep(): Promise<number>
}

/** What a counter bounds: one login (from one address, when known), one address, one calling client. */
export type LimitKind = 'login' | 'ip' | 'client'

/** Whom a login counter counts: the user the login names, or the login itself when it names nobody. */
export type LoginSubject = { userId: string } | { login: string }

/** `address` is an `addressKey` (client-address.ts): an IPv4 address or an IPv6 /64. */
export type Counter =
  | { kind: 'login'; subject: LoginSubject; address?: string }
  | { kind: 'ip'; address: string }
  | { kind: 'client'; client: string }

export type LimitedCounter = { counter: Counter; limit: number }

/** The counter that refused an attempt, and when its window ends. */
export type Refusal = { kind: LimitKind; retryAfterSeconds: number }
