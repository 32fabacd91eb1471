/**
 * How one instance's workers share themselves among endpoints: at most `perEndpoint` attempts in
 * flight per endpoint, and a circuit breaker per endpoint: after BREAKER_THRESHOLD failed attempts
 * in a row (no success between them) the endpoint is paused on this instance for 1 s, doubling at
 * each further failure up to a minute, until an attempt succeeds. Its deliveries wait meanwhile
 * (they are not failed and their attempts are not used up), so a dead endpoint costs a few
 * attempts a minute rather than one per due delivery: the database and the workers stay free for
 * the endpoints that answer. The count is this instance's memory; the pause itself is also
 * written to the endpoint's waiting deliveries (postponed to its end), so every instance keeps it
 * and no claim has to pass over them.
 */

/** Failed attempts in a row before an endpoint is paused. */
export const BREAKER_THRESHOLD = 10
const FIRST_PAUSE_MS = 1000
const MAX_PAUSE_MS = 60_000

export type Pacing = ReturnType<typeof createPacing>

export function createPacing(options: { perEndpoint: number; clock: () => Date }) {
  const inFlight = new Map<string, number>()
  const failures = new Map<string, { count: number; pausedUntil: number }>()
  return {
    /** Endpoints not to claim for now: at their limit, or paused. */
    excluded(): string[] {
      const now = options.clock().getTime()
      const full = [...inFlight].filter(([, count]) => count >= options.perEndpoint).map(([id]) => id)
      const paused = [...failures].filter(([, state]) => state.pausedUntil > now).map(([id]) => id)
      return [...new Set([...full, ...paused])]
    },
    started(webhookId: string): void {
      inFlight.set(webhookId, (inFlight.get(webhookId) ?? 0) + 1)
    },
    finished(webhookId: string): void {
      const left = (inFlight.get(webhookId) ?? 1) - 1
      if (left > 0) inFlight.set(webhookId, left)
      else inFlight.delete(webhookId)
    },
    /** Records an attempt's result; when it pauses the endpoint, until when. */
    record(webhookId: string, succeeded: boolean): Date | undefined {
      if (succeeded) {
        failures.delete(webhookId)
        return undefined
      }
      const count = (failures.get(webhookId)?.count ?? 0) + 1
      const pause = count < BREAKER_THRESHOLD ? 0 : Math.min(FIRST_PAUSE_MS * 2 ** (count - BREAKER_THRESHOLD), MAX_PAUSE_MS)
      const pausedUntil = options.clock().getTime() + pause
      failures.set(webhookId, { count, pausedUntil })
      return pause > 0 ? new Date(pausedUntil) : undefined
    },
  }
}
