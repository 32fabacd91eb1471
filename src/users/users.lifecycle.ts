import {
  type Conflict,
  type Forbidden,
  forbidden,
  type NotFound,
  notFound,
  type PreconditionFailed,
  UnavailableError,
} from '../errors'
import type { UserPage, UsersRepository, WriteGuard } from './users.model'
import type { ListUsersQuery, User } from './users.schemas'
import type { Authority, UserRef, WriteOptions } from './users.service'

/**
 * Part of the users service (issue 15): the rules of deleting, restoring and erasing users, for
 * every surface. A delete keeps the user USER_RETENTION_DAYS, invisible to everything but the
 * administrative reads below, with its username and email free at once; a restore brings it back
 * if they are still free; an erase removes every personal value of the user, here and wherever
 * the service keeps a copy (`forget`), at once. users.service.ts builds this with its own rules
 * (who may touch whom, If-Match), so they are written once.
 */

/** Whose personal values another store must forget on erase: the id and every login that named the user. */
export type ErasureSubject = { userId: string; logins: string[] }

/** A store holding copies of a user's personal values (idempotency records, failed-attempt counters...). */
export type ForgetUser = (subject: ErasureSubject) => Promise<void>

export type LifecycleOptions = {
  /** USER_RETENTION_DAYS: how long a deleted user is kept; 0 deletes it for good at once. */
  retentionDays: number
  /** Every other store that keeps copies of a user's personal values; each is told on erase. */
  forget: ForgetUser[]
  /**
   * Those of them that work running beside the erase can fill again from what it read before
   * (the relay's events, a webhook attempt's record): told again once the tombstone is written,
   * before the erase answers. From then on that work finds the user erased and scrubs itself.
   */
  forgetAgain?: ForgetUser[]
}

/** What a service built without lifecycle options (the import CLI) gets: the documented defaults. */
export const DEFAULT_LIFECYCLE: LifecycleOptions = { retentionDays: 30, forget: [] }

/** The service's own rules, which the lifecycle applies as the other writes do. */
export type ServiceRules = {
  /** The id a ref names now (a username is looked up; deleted users are not found). */
  idOf(ref: UserRef): Promise<string | NotFound>
  /** The filter guard of a write: If-Match's versions, ordinary users only without authority, a username still held. */
  guardOf(options: WriteOptions, ref: UserRef): WriteGuard
  /** Why a write on `current` may not happen: authority, then If-Match. */
  refusal(current: User, options: WriteOptions): Forbidden | PreconditionFailed | null
}

const DAY_MS = 24 * 60 * 60 * 1000
/** Bounds the rounds of a write that keeps losing races before answering 503. */
const MAX_ATTEMPTS = 50
const busy = () => new UnavailableError('The user is being changed by many requests at once; retry shortly.', 1)

export function createLifecycle(users: UsersRepository, options: LifecycleOptions, rules: ServiceRules) {
  const retentionMs = options.retentionDays * DAY_MS

  /** DELETE: the soft delete (or, with a retention of 0, the delete for good), under the write rules. */
  async function remove(
    ref: UserRef,
    writeOptions: WriteOptions,
  ): Promise<{ kind: 'deleted'; id: string } | NotFound | Forbidden | PreconditionFailed> {
    const guard = rules.guardOf(writeOptions, ref)
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // A username is looked up again each round: the user that has it now.
      const id = await rules.idOf(ref)
      if (typeof id !== 'string') return id
      const done = retentionMs === 0 ? await users.delete(id, guard) : await users.softDelete(id, guard, retentionMs)
      if (done) return { kind: 'deleted', id }
      // Nothing guarded the delete but "not deleted already", so no live user is there: no read needed to say so.
      if (Object.keys(guard).length === 0) return notFound(ref.by, ref.value)
      const current = await users.findById(id)
      if (!current) return notFound(ref.by, ref.value)
      // Renamed since the look-up: the next round looks the name up again.
      if (ref.by === 'username' && current.username.toLowerCase() !== ref.value.toLowerCase()) continue
      const refused = rules.refusal(current, writeOptions)
      if (refused) return refused
      // It meets the guard now: it changed between the delete and the read. Again.
    }
    throw busy()
  }

  /** POST /v1/users/{id}/restore: a deleted user live again (status as it was), with its name and address. */
  async function restore(
    id: string,
    writeOptions: WriteOptions,
  ): Promise<{ kind: 'restored'; user: User } | NotFound | Forbidden | PreconditionFailed | Conflict> {
    if (!writeOptions.authority.admin) return forbidden('lifecycle')
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const current = await users.findAnyById(id)
      // Live, erased, purged or unknown: there is no deleted user with this id.
      if (!current?.deletedAt) return notFound('id', id, 'deleted')
      const refused = rules.refusal(current, writeOptions)
      if (refused) return refused
      const written = await users.restore(current)
      if (written.kind === 'written') return { kind: 'restored', user: written.user }
      if (written.kind === 'conflict') return written
      // Stale: restored, erased or changed since the read. Again, from a fresh read.
    }
    throw busy()
  }

  return {
    delete: remove,
    restore,
    erase: (id: string, writeOptions: WriteOptions) => eraseUser({ users, options, rules, retentionMs }, id, writeOptions),
    /** GET /v1/users/{id}?includeDeleted=true: the user even if deleted (not erased or purged); users:admin only. */
    async getIncludingDeleted(id: string, authority: Authority): Promise<User | NotFound | Forbidden> {
      if (!authority.admin) return forbidden('read_deleted')
      return (await users.findAnyById(id)) ?? notFound('id', id)
    },
    /** Whether nothing of the user may be kept anywhere: erased, purged (or never stored). */
    isGone: async (id: string): Promise<boolean> => (await users.findAnyById(id)) === null,
    /** GET /v1/users?deleted=true: a page of deleted users; users:admin only. */
    async listDeleted(query: ListUsersQuery, authority: Authority): Promise<UserPage | Forbidden> {
      if (!authority.admin) return forbidden('read_deleted')
      return users.list({ ...query, deleted: true })
    },
  }
}

/** What an erase works with. */
type EraseDeps = { users: UsersRepository; options: LifecycleOptions; rules: ServiceRules; retentionMs: number }

/**
 * POST /v1/users/{id}/erase: every personal value of a live or deleted user gone at once. The
 * user is held at the version read (and If-Match checked on it: a change in between is a new
 * round, which checks again), then the other stores forget their copies, then the user becomes a
 * tombstone: a failure on the way leaves the user as it was (the hold released), so the erase can
 * be repeated, and a refused one has scrubbed nothing. Then the stores that a relay batch or a
 * webhook attempt could have filled again meanwhile forget once more (docs/events.md, "Erase"),
 * so nothing of the user is visible once this answers.
 */
async function eraseUser(
  { users, options, rules, retentionMs }: EraseDeps,
  id: string,
  writeOptions: WriteOptions,
): Promise<{ kind: 'erased' } | NotFound | Forbidden | PreconditionFailed> {
  if (!writeOptions.authority.admin) return forbidden('lifecycle')
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const current = await users.findAnyById(id)
    if (!current) return notFound('id', id)
    // Refused as read: no hold is taken, so no change waits (503 "being erased") on an erase that
    // will not happen. A version can only move on, so this answer holds at the read.
    const early = rules.refusal(current, writeOptions)
    if (early) return early
    // If-Match is checked again on the user as held, whose version nothing can move any more; the other
    // stores forget only once it passed, so a refused erase has scrubbed nothing.
    let refused: PreconditionFailed | Forbidden | null = null
    const subject = { userId: id, logins: [current.username, current.email] }
    const erased = await users.erase(current, retentionMs, async (held) => {
      refused = rules.refusal(held, writeOptions)
      if (!refused) await Promise.all(options.forget.map((store) => store(subject)))
      return refused === null
    })
    if (refused) return refused
    if (!erased) continue
    await Promise.all((options.forgetAgain ?? []).map((forget) => forget(subject)))
    return { kind: 'erased' }
  }
  throw busy()
}
