import type { Config } from './config'
import type { FailedAttempts } from './credentials/failed-attempts'
import { createFailedAttempts } from './credentials/failed-attempts.repository'
import type { DatabaseHandle } from './db/calls'
import type { EventsStore } from './events/events.model'
import { createEventsRepository } from './events/events.repository'
import type { IdempotencyStore } from './idempotency/idempotency'
import { createIdempotencyStore } from './idempotency/idempotency.repository'
import type { UsersRepository } from './users/users.model'
import type { UsersOutbox } from './users/users.outbox'
import { createUsersOutbox } from './users/users.outbox.repository'
import { createUsersRepository } from './users/users.repository'
import type { WebhookStores } from './webhooks/webhooks.model'
import { createSecretSealer } from './webhooks/webhooks.sealing'
import { createWebhookStores } from './webhooks/webhooks.stores'

/**
 * Every store the app reads and writes, each on the same database handle; and the users' outbox,
 * which the events relay (src/events/events.relay.ts) moves events out of.
 */
export type Stores = {
  users: UsersRepository
  failedAttempts: FailedAttempts
  idempotency: IdempotencyStore
  webhooks: WebhookStores
  events: EventsStore
  outbox: UsersOutbox
}

export type StoresOptions = {
  /** How long failed credential checks count (AUTH_FAILURE_WINDOW_SECONDS). */
  failureWindowSeconds: number
  /** Keys the failure counters' digests (AUTH_FAILURE_KEY_SECRET); unset: a built-in key. */
  failureKeySecret?: string | undefined
  /** Seal webhook secrets at rest (WEBHOOK_SECRET_KEYS): the first seals, every one opens; none: stored as they are. */
  webhookSecretKeys?: readonly Uint8Array[]
  /** The time every store stamps and compares with; tests pass their own. */
  clock?: () => Date
  /** Told when a background sweep fails (the next one tries again). */
  onSweepError?: (error: unknown) => void
  sweepEveryMs?: number
}

/** The options the configuration decides: the failure counters' window and key, and the webhook secrets' keys. */
export function storesOptionsOf(config: Pick<Config, 'auth' | 'webhooks'>): StoresOptions {
  return {
    failureWindowSeconds: config.auth.failures.windowSeconds,
    failureKeySecret: config.auth.failures.keySecret,
    webhookSecretKeys: config.webhooks.secretKeys,
  }
}

/**
 * Builds every store on `database`: the one place the service, the tests and the scripts get
 * them from. Building does no I/O (scripts/openapi.ts builds them on a handle it never connects);
 * `open()` creates every index and, every minute until `close()`, purges deleted users past their
 * retention and, where the server has no TTL indexes (FerretDB), sweeps expired documents. Reads
 * filter on expiry regardless.
 */
export function createStores(
  database: DatabaseHandle,
  options: StoresOptions,
): Stores & {
  open(): Promise<void>
  close(): void
} {
  const clock = options.clock ? { clock: options.clock } : {}
  const webhooks = createWebhookStores(database, createSecretSealer(options.webhookSecretKeys ?? []))
  // Each change written here hints the relay of this process to look at that user at once.
  const outbox = createUsersOutbox(database)
  const stores: Stores = {
    users: createUsersRepository(database, { ...clock, onChange: outbox.notify }),
    failedAttempts: createFailedAttempts(database, {
      windowSeconds: options.failureWindowSeconds,
      secret: options.failureKeySecret,
      ...clock,
    }),
    idempotency: createIdempotencyStore(database, clock),
    webhooks,
    events: createEventsRepository(database),
    outbox,
  }
  let sweeper: ReturnType<typeof setInterval> | undefined
  return {
    ...stores,
    async open() {
      const expiring = [stores.failedAttempts, stores.idempotency]
      // Each store's indexes are its own: created side by side, startup waits for the slowest only.
      const [modes] = await Promise.all([
        Promise.all(expiring.map((store) => store.ensureIndexes())),
        stores.users.ensureIndexes(),
        webhooks.ensureIndexes(),
        stores.events.ensureIndexes(),
      ])
      // Deleted users are purged by this sweep on every server: their retention is configuration
      // (USER_RETENTION_DAYS), stored as `purgeAt` at delete time, and reads ignore them past it anyway.
      const sweeps = [
        () => stores.users.purge(),
        ...(modes.includes('sweep') ? expiring.map((store) => () => store.sweep()) : []),
      ]
      if (sweeper) return
      sweeper = setInterval(() => {
        for (const sweep of sweeps) sweep().catch((error) => options.onSweepError?.(error))
      }, options.sweepEveryMs ?? 60_000)
      sweeper.unref()
    },
    close: () => clearInterval(sweeper),
  }
}
