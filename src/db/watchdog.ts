import type { EventEmitter } from 'node:events'

/**
 * Watches the driver's server heartbeats for one that never ends.
 *
 * Why: with mongodb 7.9 (seen on Bun, by scripts/reliability/faults.ts), a heartbeat started on the
 * monitor's connection just as the database closes it can stay pending forever; the connection's
 * close event arrives, yet the check's read never settles. The monitor then never checks the server
 * again, the server stays "unknown", and every operation fails server selection: the service
 * would answer 503 until restarted, although the database is back.
 *
 * A polling heartbeat is a connect plus a `hello`, each bounded by connectTimeoutMS, so one pending
 * longer than `hungAfterMs` is hung and `onHung` runs (once per hung heartbeat). Streaming
 * heartbeats (`awaited`: MongoDB 4.4+ uses them after the first check, so on MongoDB they are
 * nearly all of them) wait on the server on purpose, up to heartbeatFrequencyMS, with a socket
 * timeout of connectTimeoutMS on top; they get the longer bound `awaitedHungAfterMs` (default:
 * `hungAfterMs` plus the driver's default heartbeatFrequencyMS). Returns a function that stops watching.
 */
export function watchHeartbeats(
  client: Pick<EventEmitter, 'on' | 'off'>,
  options: { hungAfterMs: number; awaitedHungAfterMs?: number; onHung: () => void },
): () => void {
  const awaitedHungAfterMs = options.awaitedHungAfterMs ?? options.hungAfterMs + 10_000
  // Monitors are per server: each server's pending heartbeat has its own timer, armed only while
  // it is pending (an idle process wakes for nothing else: issue 18, idle CPU).
  const pending = new Map<string, ReturnType<typeof setTimeout>>()
  const ended = (event: { connectionId: string }) => {
    clearTimeout(pending.get(event.connectionId))
    pending.delete(event.connectionId)
  }
  const started = (event: { connectionId: string; awaited: boolean }) => {
    ended(event)
    const timer = setTimeout(
      () => {
        pending.delete(event.connectionId)
        options.onHung()
      },
      event.awaited ? awaitedHungAfterMs : options.hungAfterMs,
    )
    timer.unref()
    pending.set(event.connectionId, timer)
  }
  client.on('serverHeartbeatStarted', started)
  client.on('serverHeartbeatSucceeded', ended)
  client.on('serverHeartbeatFailed', ended)
  return () => {
    for (const timer of pending.values()) clearTimeout(timer)
    pending.clear()
    client.off('serverHeartbeatStarted', started)
    client.off('serverHeartbeatSucceeded', ended)
    client.off('serverHeartbeatFailed', ended)
  }
}
