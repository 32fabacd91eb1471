import type { RouteHandler } from '@hono/zod-openapi'
import { hasScope } from '../auth/middleware'
import { problem } from '../http/problem'
import type { AppEnv } from '../http/types'
import type { PasswordHasher } from '../users/passwords'
import { decodeCursor } from '../users/users.cursor'
import type { UsersRepository } from '../users/users.model'
import type { ListUsersQuery, User } from '../users/users.schemas'
import type * as routes from './legacy.routes'

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>

export type LegacyDeps = {
  users: UsersRepository
  passwords: PasswordHasher
  /** The most users GET /read returns (LEGACY_READ_ALL_MAX unless a test says otherwise). */
  readAllMax?: number
}

/** The most users GET /read returns: the seed returned all of them, which does not scale. */
export const LEGACY_READ_ALL_MAX = 10_000

/** The seed's user shape (MongoEngine's to_json), without the password. */
export function toLegacyUser(user: User) {
  return {
    _id: { $oid: user.id },
    username: user.username,
    email: user.email,
    role: user.role,
    is_active: user.status === 'active',
  }
}

/** The /v1 route that replaces a legacy call on this user. */
export const successorLink = (path: string) => `<${path}>; rel="successor-version"`

/**
 * The Flask service's routes over the same repository and rules as /v1: the same schemas, the same
 * admin scope for role and status, argon2id for passwords, problem+json for every error.
 */
export function createLegacyHandlers({ users, passwords, readAllMax = LEGACY_READ_ALL_MAX }: LegacyDeps) {
  const create: Handler<'legacyCreate'> = async (c) => {
    const { password, is_active, ...input } = c.req.valid('json')
    const status = is_active === false ? 'disabled' : 'active'
    if ((input.role !== undefined && input.role !== 'user') || status !== 'active') {
      if (!hasScope(c.get('caller')?.scopes, 'users:admin')) {
        return problem(
          c,
          'forbidden',
          "Creating a user with a role other than 'user' or is_active false needs the scope 'users:admin'.",
        )
      }
    }
    const user = await users.create({
      username: input.username,
      email: input.email,
      metadata: {},
      role: input.role ?? 'user',
      status,
      ...(password !== undefined ? { passwordHash: await passwords.hash(password) } : {}),
    })
    return c.json(toLegacyUser(user), 201, { Link: successorLink(`/v1/users/${user.id}`) })
  }

  const readAll: Handler<'legacyReadAll'> = async (c) => {
    // Oldest first, as the seed's natural order was; imported users keep their ObjectId's time.
    const query: ListUsersQuery = { sort: 'createdAt', limit: 100, includeTotal: false }
    const all: User[] = []
    let cursor: string | null = null
    do {
      const page = await users.list(query, cursor ? decodeCursor(query, cursor) : undefined)
      all.push(...page.items)
      cursor = page.nextCursor
    } while (cursor && all.length < readAllMax)
    const truncated = all.length > readAllMax || cursor !== null
    return c.json(all.slice(0, readAllMax).map(toLegacyUser), 200, truncated ? { 'X-Legacy-Truncated': 'true' } : {})
  }

  const readOne: Handler<'legacyReadOne'> = async (c) => {
    const { username } = c.req.valid('param')
    const user = await users.findByUsername(username)
    if (!user) return problem(c, 'user_not_found', `No user has username '${username}'.`)
    return c.json(toLegacyUser(user), 200, { Link: successorLink(`/v1/users/${user.id}`) })
  }

  const update: Handler<'legacyUpdate'> = async (c) => {
    const { username } = c.req.valid('param')
    const { password, is_active, ...patch } = c.req.valid('json')
    if ((patch.role !== undefined || is_active !== undefined) && !hasScope(c.get('caller')?.scopes, 'users:admin')) {
      return problem(c, 'forbidden', "Changing role or is_active needs the scope 'users:admin'.")
    }
    const found = await users.findByUsername(username)
    if (!found) return problem(c, 'user_not_found', `No user has username '${username}'.`)
    // Hash once, however often a lost race makes the repository ask again.
    let hashing: Promise<string> | undefined
    const hashOnce = (plain: string) => {
      hashing ??= passwords.hash(plain)
      return hashing
    }
    const outcome = await users.update(
      found.id,
      { ...patch, ...(is_active !== undefined ? { status: is_active ? 'active' : 'disabled' } : {}) },
      password !== undefined ? { hashPassword: () => hashOnce(password) } : {},
    )
    // Deleted between the lookup and the update. (No If-Match here: the seed had none.)
    if (outcome.kind === 'not_found' || outcome.kind === 'precondition_failed') {
      return problem(c, 'user_not_found', `No user has username '${username}'.`)
    }
    return c.json(toLegacyUser(outcome.user), 200, { Link: successorLink(`/v1/users/${found.id}`) })
  }

  const remove: Handler<'legacyDelete'> = async (c) => {
    const { username } = c.req.valid('param')
    const found = await users.findByUsername(username)
    if (!found) return problem(c, 'user_not_found', `No user has username '${username}'.`)
    const outcome = await users.delete(found.id)
    if (outcome.kind !== 'deleted') return problem(c, 'user_not_found', `No user has username '${username}'.`)
    return c.json({ message: 'User deleted' }, 200, { Link: successorLink(`/v1/users/${found.id}`) })
  }

  return { create, readAll, readOne, update, remove }
}
