/**
 * For the no-database pair only: an in-memory UsersRepository (and in-memory stand-ins for the
 * failed-attempts and idempotency stores), so the service's own cost per request can be measured
 * without FerretDB's. Never imported by src or tests: the service and its tests always use the
 * real repository on a real database.
 */
import type { FailedAttempts } from '../../src/auth/failed-attempts'
import { ifMatchAllows } from '../../src/http/etag'
import type { IdempotencyStore } from '../../src/idempotency/idempotency'
import type { UsersRepository } from '../../src/users/users.model'
import { changesFor } from '../../src/users/users.patch'
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
      createdAt: at,
      updatedAt: at,
      version: 1,
    }
  })
}

export function createMemoryUsersRepository(initial: User[]): UsersRepository {
  const byId = new Map(initial.map((user) => [user.id, user]))
  const find = (predicate: (user: User) => boolean) => [...byId.values()].find(predicate) ?? null
  return {
    ensureIndexes: async () => {},
    async create(input) {
      const at = new Date().toISOString()
      const { passwordHash, ...fields } = input
      const user: User = {
        ...fields,
        id: crypto.randomUUID().replaceAll('-', '').slice(0, 24),
        hasPassword: passwordHash !== undefined,
        createdAt: at,
        updatedAt: at,
        version: 1,
      }
      byId.set(user.id, user)
      return user
    },
    findById: async (id) => byId.get(id) ?? null,
    findByUsername: async (username) => find((user) => user.username.toLowerCase() === username.toLowerCase()),
    findByEmail: async (email) => find((user) => user.email.toLowerCase() === email.trim().toLowerCase()),
    async findCredentials(login) {
      const key = login.trim().toLowerCase()
      const user = find((u) => (key.includes('@') ? u.email : u.username).toLowerCase() === key)
      return user && { user, passwordHash: undefined }
    },
    async list(query) {
      const sorted = [...byId.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      return { items: sorted.slice(0, query.limit), nextCursor: null }
    },
    async update(id, patch, options = {}) {
      const current = byId.get(id)
      if (!current) return { kind: 'not_found' }
      if (options.ifMatch && !ifMatchAllows(options.ifMatch, current.version)) {
        return { kind: 'precondition_failed', currentVersion: current.version }
      }
      const hash = options.hashPassword && (await options.hashPassword())
      const found = changesFor(current, { ...patch, ...(hash ? { passwordHash: hash } : {}) })
      if (Object.keys(found).length === 0) return { kind: 'unchanged', user: current }
      const { displayName, passwordHash, ...changes } = found
      const user: User = {
        ...current,
        ...changes,
        ...(displayName !== undefined && displayName !== null ? { displayName } : {}),
        ...(passwordHash !== undefined ? { hasPassword: true } : {}),
        updatedAt: new Date().toISOString(),
        version: current.version + 1,
      }
      if (displayName === null) delete user.displayName
      byId.set(id, user)
      return { kind: 'updated', user }
    },
    async delete(id) {
      return byId.delete(id) ? { kind: 'deleted' } : { kind: 'not_found' }
    },
  }
}

/** Never limits anyone: the measured workloads do not check credentials. */
export const noFailedAttempts: FailedAttempts = {
  ensureIndexes: async () => 'sweep',
  take: async () => 0,
  reset: async () => {},
  refund: async () => {},
  sweep: async () => 0,
}

/** Claims every key: the measured workloads send no Idempotency-Key. */
export const noIdempotency: IdempotencyStore = {
  ensureIndexes: async () => 'sweep',
  claim: async () => ({ kind: 'claimed', owner: 'bench' }),
  complete: async () => {},
  release: async () => {},
  sweep: async () => 0,
}
