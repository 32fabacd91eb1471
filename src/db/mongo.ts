import { MongoClient, type MongoClientOptions } from 'mongodb'
import { uriOptionNames } from '../config.uri'
import { withDeadline } from '../deadline'
import { boundCalls, callLimits, type DatabaseHandle, type IndexBuilds } from './calls'
import type { PoolStats } from './pool'
import { watchHeartbeats } from './watchdog'

/** How long readiness waits for a ping before calling the database unreachable. */
const PING_TIMEOUT_MS = 2000

/** A database handle (what repositories are built on) with its client's lifecycle. */
export type Database = DatabaseHandle & {
  /** Resolves when the server answers a ping within PING_TIMEOUT_MS. */
  ping(): Promise<void>
  /** Live connection-pool figures, from the driver's monitoring events. */
  poolStats(): PoolStats
  /**
   * Closes the client and connects it again, retrying until the server answers. What the heartbeat
   * watchdog does when the driver's monitor hangs; Db and Collection objects stay valid, and
   * operations meanwhile fail as unavailable (503).
   */
  reset(): Promise<void>
  /** Closes the client of startup's index builds, if one was made (close() does too). */
  indexBuildsDone(): Promise<void>
  close(): Promise<void>
}

type DatabaseOptions = {
  timeoutMs?: number
  appName?: string
  onReset?: (reason: string) => void
  onIndexBuild?: IndexBuilds['report']
}

/** Opens the MongoDB client and connects (see createDatabase). */
export async function connectDatabase(uri: string, dbName: string, options: DatabaseOptions = {}): Promise<Database> {
  const database = createDatabase(uri, dbName, options)
  await database.connect()
  return database
}

/**
 * Creates the MongoDB client without connecting (no I/O: `connect()` does it, or the first call).
 * Each stage of an operation is bounded by `timeoutMs`: finding a server, waiting for a pooled
 * connection, and waiting on the socket. So no request waits on an unreachable or hung database
 * much longer than that; the handle's `call` turns the resulting errors into UnavailableError.
 * (Not the driver's `timeoutMS`: since driver 7.8 it is deprecated and does nothing.) An option the
 * URI gives wins over these (clientOptions).
 * Compression stays off: nothing to gain on loopback or in a VPC, and FerretDB does not offer it.
 */
export function createDatabase(
  uri: string,
  dbName: string,
  options: DatabaseOptions = {},
): Database & { connect(): Promise<void> } {
  const timeoutMs = options.timeoutMs ?? 5000
  const client = new MongoClient(uri, clientOptions(uri, options.appName ?? 'users-service', timeoutMs))
  const stats = trackPool(client)
  const db = client.db(dbName)
  const builds = indexBuildsClient(uri, dbName, options)

  let closed = false
  let resetting: Promise<void> | undefined
  // Ends the reset's pause between attempts early, when the database is being closed.
  let stopPausing: (() => void) | undefined
  const reset = (reason: string) => {
    resetting ??= (async () => {
      options.onReset?.(reason)
      await client.close().catch(() => {})
      while (!closed) {
        try {
          await client.connect()
          return
        } catch {
          if (closed) return
          await new Promise<void>((retry) => {
            const timer = setTimeout(retry, timeoutMs)
            stopPausing = () => {
              clearTimeout(timer)
              retry()
            }
          })
        }
      }
    })().finally(() => {
      resetting = undefined
    })
    return resetting
  }
  // A polling heartbeat takes at most a connect and a hello, a call a server selection and a socket
  // wait (timeoutMs each); a second more is the margin. Past that, the driver is stuck (see
  // watchdog.ts and callLimits), and this handle's calls answer 503 at the same bound.
  const limits = callLimits(timeoutMs)
  const stuckAfterMs = limits.deadlineMs
  const stopWatching = watchHeartbeats(client, {
    hungAfterMs: stuckAfterMs,
    // A streaming heartbeat waits up to heartbeatFrequencyMS for news, then as long as a polling one.
    awaitedHungAfterMs: client.options.heartbeatFrequencyMS + stuckAfterMs,
    onHung: () => void reset('a server heartbeat of the MongoDB driver hung: reconnecting'),
  })
  return {
    db,
    call: boundCalls(limits),
    ...builds,
    connect: async () => void (await client.connect()),
    ping: async () => {
      if ((await withDeadline(db.command({ ping: 1 }), PING_TIMEOUT_MS)) === 'timed out') {
        throw new Error(`no answer to ping within ${PING_TIMEOUT_MS} ms`)
      }
    },
    poolStats: () => ({ ...stats }),
    reset: () => reset('reset requested'),
    close: async () => {
      closed = true
      stopWatching()
      await builds.indexBuildsDone()
      // Interrupts a reset's reconnect (a pending connect fails once the client closes) and its
      // pause, so shutdown does not wait up to two timeouts on a database that is down.
      if (resetting) {
        await client.close().catch(() => {})
        stopPausing?.()
        await resetting
      }
      await client.close()
    },
  }
}

/**
 * The client of startup's index builds (src/db/indexes.ts), made when the first build is sent: a
 * restart on a database that has every index makes none. No socket timeout: on MongoDB a
 * createIndex answers when its build is done, minutes later over a large collection, and cut at
 * the service's socket timeout the start would fail, and every restart after it, until the build
 * finished. Other timeouts as the URI or the driver's defaults say; a small pool.
 */
function indexBuildsClient(
  uri: string,
  dbName: string,
  options: DatabaseOptions,
): { indexBuilds: IndexBuilds; indexBuildsDone(): Promise<void> } {
  let client: MongoClient | undefined
  const db = async () => {
    client ??= new MongoClient(uri, {
      appName: `${options.appName ?? 'users-service'} index builds`,
      socketTimeoutMS: 0,
      maxPoolSize: 4,
      // The URI's minPoolSize is the service's client's: above 4 this one would refuse to start.
      minPoolSize: 0,
    })
    await client.connect()
    return client.db(dbName)
  }
  return {
    indexBuilds: { db, ...(options.onIndexBuild ? { report: options.onIndexBuild } : {}) },
    indexBuildsDone: async () => {
      const closing = client
      client = undefined
      await closing?.close()
    },
  }
}

/**
 * The client's options: ours, less those the URI gives (`?maxPoolSize=200`), so that the operator's
 * win; but the timeouts are always ours (config refuses them in MONGODB_URI): each call's deadline
 * and the heartbeat watchdog are derived from `timeoutMs`. So is the consistency (config refuses
 * weaker in the URI): writes acknowledged by a majority, said here rather than left to the server's
 * default (w:1 on a replica set with an arbiter, whose acknowledged writes a failover can roll back
 * after the relay published their events), and reads from the primary (the relay and the feed read
 * what they have just written; a lagging secondary would make them hand out sequences twice or
 * skip events). The driver lets options passed to `new MongoClient` override the URI's; its option
 * names are case-insensitive in a URI, and so is this comparison.
 */
export function clientOptions(uri: string, appName: string, timeoutMs: number): MongoClientOptions {
  const given = new Set(uriOptionNames(uri).map((name) => name.toLowerCase()))
  const defaults = Object.entries({ appName, maxPoolSize: 50 }).filter(([name]) => !given.has(name.toLowerCase()))
  return {
    ...Object.fromEntries(defaults),
    serverSelectionTimeoutMS: timeoutMs,
    waitQueueTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
    writeConcern: { w: 'majority' },
    readPreference: 'primary',
  }
}

/** Live connection-pool figures, kept from the driver's monitoring events. */
function trackPool(client: MongoClient): PoolStats {
  const stats: PoolStats = { open: 0, checkedOut: 0, waiting: 0, checkoutFailures: 0 }
  client.on('connectionCreated', () => void stats.open++)
  client.on('connectionClosed', () => void stats.open--)
  client.on('connectionCheckOutStarted', () => void stats.waiting++)
  client.on('connectionCheckedOut', () => {
    stats.waiting--
    stats.checkedOut++
  })
  client.on('connectionCheckOutFailed', () => {
    stats.waiting--
    stats.checkoutFailures++
  })
  client.on('connectionCheckedIn', () => void stats.checkedOut--)
  return stats
}
