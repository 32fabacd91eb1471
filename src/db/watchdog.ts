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
  options: { hungAfterMs: number; awaitedHungAfterMs?: number; onHung: () => void; checkEveryMs?: number },
): () => void {
  const awaitedHungAfterMs = options.awaitedHungAfterMs ?? options.hungAfterMs + 10_000
  // Monitors are per server: when each server's pending heartbeat counts as hung.
  const pending = new Map<string, number>()
  const started = (event: { connectionId: string; awaited: boolean }) => {
    pending.set(event.connectionId, performance.now() + (event.awaited ? awaitedHungAfterMs : options.hungAfterMs))
  }
  const ended = (event: { connectionId: string }) => void pending.delete(event.connectionId)
  client.on('serverHeartbeatStarted', started)
  client.on('serverHeartbeatSucceeded', ended)
  client.on('serverHeartbeatFailed', ended)
  const timer = setInterval(
    () => {
      const now = performance.now()
      for (const [server, hungAt] of pending) {
        if (now < hungAt) continue
        pending.delete(server)
        options.onHung()
      }
    },
    // Often enough that detection adds little to the wait (a reset is what ends an outage then).
    options.checkEveryMs ?? 250,
  )
  timer.unref()
  return () => {
    clearInterval(timer)
    client.off('serverHeartbeatStarted', started)
    client.off('serverHeartbeatSucceeded', ended)
    client.off('serverHeartbeatFailed', ended)
  }
}
