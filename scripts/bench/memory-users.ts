/**
 * For the no-database pair only: an in-memory UsersRepository (and in-memory stand-ins for the
 * failed-attempts and idempotency stores), so the service's own cost per request can be measured
 * without FerretDB's. Never imported by src or tests: the service and its tests always use the
 * real repository on a real database.
 */
import type { FailedAttempts } from '../../src/credentials/failed-attempts'
import { conflict } from '../../src/errors'
import type { EventsStore } from '../../src/events/events.model'
import type { IdempotencyStore } from '../../src/idempotency/idempotency'
import type { UserChanges, UsersRepository, WriteGuard } from '../../src/users/users.model'
import type { User } from '../../src/users/users.schemas'

/** The same users for both sides of the pair: fixed ids, so the harness can name them too. */
export function benchUsers(count: number): User[] {
  return Array.from({ length: count }, (_, i) => {
    const username = `user${String(i).padStart(5, '0')}`
    const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()
    return {
      id: (0x6700000000000000n + BigInt(i)).toString(16).padStart(24, '0'),
      username,
      email: `${username}@example.com`,
      displayName: `Bench User ${i}`,
      metadata: { team: `team-${i % 50}`, seq: i },
      role: 'user',
      status: 'active',
      hasPassword: false,
      emailVerified: false,
      createdAt: at,
      updatedAt: at,
      version: 1,
    }
  })
}

export function createMemoryUsersRepository(initial: User[]): UsersRepository {
  const byId = new Map(initial.map((user) => [user.id, user]))
  const find = (predicate: (user: User) => boolean) => [...byId.values()].find(predicate) ?? null
  // By lower-cased username, so lookups and creates stay O(1) however many users a loop creates.
  const byUsername = new Map(initial.map((user) => [user.username.toLowerCase(), user.id]))
  const findByUsername = (username: string) => {
    const user = byId.get(byUsername.get(username.toLowerCase()) ?? '')
    return user && user.username.toLowerCase() === username.toLowerCase() ? user : null
  }
  const meets = (user: User, guard: WriteGuard) =>
    (!guard.versions || guard.versions.includes(user.version)) &&
    (!guard.role || user.role === guard.role) &&
    (!guard.status || user.status === guard.status)
  const apply = (current: User, found: UserChanges): User => {
    const { passwordHash, ...changes } = found
    const user = {
      ...current,
      ...(passwordHash !== undefined ? { hasPassword: passwordHash !== null } : {}),
      updatedAt: new Date().toISOString(),
      version: current.version + 1,
    } as Record<string, unknown>
    // `null` removes a field.
    for (const [field, value] of Object.entries(changes)) {
      if (value === null) delete user[field]
      else if (value !== undefined) user[field] = value
    }
    byId.set(current.id, user as User)
    byUsername.set(String(user.username).toLowerCase(), current.id)
    return user as User
  }
  const notInMemory = () => Promise.reject(new Error('not part of the measured workloads'))
  return {
    ensureIndexes: async () => {},
    async create(input) {
      const at = new Date().toISOString()
      const { passwordHash, ...fields } = input
      if (findByUsername(input.username)) return conflict('username', input.username)
      const user: User = {
        ...fields,
        emailVerified: fields.emailVerified ?? false,
        id: crypto.randomUUID().replaceAll('-', '').slice(0, 24),
        hasPassword: passwordHash !== undefined,
        createdAt: at,
        updatedAt: at,
        version: 1,
      }
      byId.set(user.id, user)
      byUsername.set(user.username.toLowerCase(), user.id)
      return { kind: 'written', user }
    },
    findById: async (id) => byId.get(id) ?? null,
    findByUsername: async (username) => findByUsername(username),
    findByEmail: async (email) => find((user) => user.email.toLowerCase() === email.trim().toLowerCase()),
    async findCredentials(login) {
      const key = login.trim().toLowerCase()
      const user = find((u) => (key.includes('@') ? u.email : u.username).toLowerCase() === key)
      return user && { user, passwordHash: undefined }
    },
    findTaken: async () => null,
    recordSignIn: async () => {},
    async list(query) {
      const sorted = [...byId.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      return { items: sorted.slice(0, query.limit), nextCursor: null }
    },
    async updateInPlace(id, fields, guard) {
      const current = byId.get(id)
      if (!current || !meets(current, guard)) return { kind: 'not_written' }
      const differs = Object.entries(fields).some(([k, v]) => (current as Record<string, unknown>)[k] !== (v ?? undefined))
      return differs ? { kind: 'written', user: apply(current, fields) } : { kind: 'not_written' }
    },
    async updateAtVersion(id, version, changes) {
      const current = byId.get(id)
      if (!current || current.version !== version) return { kind: 'stale' }
      return { kind: 'written', user: apply(current, changes) }
    },
    async delete(id, guard) {
      const current = byId.get(id)
      return current !== undefined && meets(current, guard) && byId.delete(id)
    },
    findAnyById: async (id) => byId.get(id) ?? null,
    // Deleted users are invisible to every measured read, so here a soft delete simply forgets them.
    async softDelete(id, guard) {
      const current = byId.get(id)
      return current !== undefined && meets(current, guard) && byId.delete(id)
    },
    restore: notInMemory,
    erase: notInMemory,
    purge: async () => 0,
    findByQuery: notInMemory,
    exists: async (id) => byId.has(id),
    insertImported: notInMemory,
    previewImported: notInMemory,
  }
}

/** Never limits anyone: the measured workloads do not check credentials. */
export const noFailedAttempts: FailedAttempts = {
  ensureIndexes: async () => 'sweep',
  take: async () => null,
  reset: async () => {},
  refund: async () => {},
  forgetSubjects: async () => {},
  sweep: async () => 0,
}

/** Claims every key: the measured workloads send no Idempotency-Key. */
export const noIdempotency: IdempotencyStore = {
  ensureIndexes: async () => 'sweep',
  claim: async () => ({ kind: 'claimed', owner: 'bench' }),
  complete: async () => {},
  release: async () => {},
  sweep: async () => 0,
  forgetUser: async () => {},
}

/** No change events: the no-database pair measures the request path only (the outbox is storage's). */
export const noEvents: EventsStore = {
  ensureIndexes: async () => {},
  state: async () => ({ lastSequence: 0, visibleThrough: 0, prunedThrough: 0, batch: null }),
  record: async () => false,
  insert: async () => {},
  commit: async () => false,
  forgetUser: async () => {},
  page: async () => [],
  prune: async () => null,
  onVisible: () => () => {},
}
