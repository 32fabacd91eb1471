/**
 * Listeners told of what this process did: a store's writes that background work waits for (the
 * users outbox wakes the events relay; webhook endpoint writes wake the dispatcher).
 */
export function createListeners<Args extends unknown[] = []>() {
  const listeners = new Set<(...args: Args) => void>()
  return {
    notify(...args: Args): void {
      for (const listener of listeners) listener(...args)
    },
    /** Adds `listener`; returns what removes it. */
    add(listener: (...args: Args) => void): () => void {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
}
