import type { Handler as RouteHandler } from '../http/handler'
import { refused, type Vocabulary } from '../http/outcomes'
import type { AppEnv } from '../http/types'
import { authorityOf } from '../users/users.handlers'
import type { ListUsersQuery, User } from '../users/users.schemas'
import type { UsersService } from '../users/users.service'
import type * as routes from './legacy.routes'

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>

export type LegacyDeps = {
  users: UsersService
  /** The most users GET /read returns (LEGACY_READ_ALL_MAX unless a test says otherwise). */
  readAllMax?: number
}

/** The most users GET /read returns: the seed returned all of them, which does not scale. */
const LEGACY_READ_ALL_MAX = 10_000

/** The Flask service called the status `is_active`; its errors say so. */
const VOCABULARY: Vocabulary = { status: 'is_active', notActive: 'is_active false', adminFields: 'role or is_active' }

/** The seed's user shape (MongoEngine's to_json), without the password. */
function toLegacyUser(user: User) {
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
 * The Flask service's routes over the same users service as /v1: the same rules (the admin scope
 * for role, status and privileged users), argon2id for passwords, problem+json for every error.
 * Users are named by username, as the seed did; `is_active` is the status.
 */
export function createLegacyHandlers({ users, readAllMax = LEGACY_READ_ALL_MAX }: LegacyDeps) {
  const create: Handler<'legacyCreate'> = async (c) => {
    const { is_active, ...input } = c.req.valid('json')
    const outcome = await users.create({ ...input, status: is_active === false ? 'disabled' : 'active' }, authorityOf(c))
    if (outcome.kind !== 'created') return refused(c, outcome, VOCABULARY)
    return c.json(toLegacyUser(outcome.user), 201, { Link: successorLink(`/v1/users/${outcome.user.id}`) })
  }

  const readAll: Handler<'legacyReadAll'> = async (c) => {
    // Oldest first, as the seed's natural order was; imported users keep their ObjectId's time.
    const query: ListUsersQuery = { sort: 'createdAt', limit: 100, includeTotal: false, deleted: false }
    const all: User[] = []
    let cursor: string | null = null
    do {
      const page = await users.list(cursor ? { ...query, cursor } : query)
      all.push(...page.items)
      cursor = page.nextCursor
    } while (cursor && all.length < readAllMax)
    const truncated = all.length > readAllMax || cursor !== null
    return c.json(all.slice(0, readAllMax).map(toLegacyUser), 200, truncated ? { 'X-Legacy-Truncated': 'true' } : {})
  }

  const readOne: Handler<'legacyReadOne'> = async (c) => {
    const found = await users.get({ by: 'username', value: c.req.valid('param').username })
    if ('kind' in found) return refused(c, found, VOCABULARY)
    return c.json(toLegacyUser(found), 200, { Link: successorLink(`/v1/users/${found.id}`) })
  }

  const update: Handler<'legacyUpdate'> = async (c) => {
    const { username } = c.req.valid('param')
    const { is_active, ...patch } = c.req.valid('json')
    const outcome = await users.update(
      { by: 'username', value: username },
      { ...patch, ...(is_active !== undefined ? { status: is_active ? 'active' : 'disabled' } : {}) },
      { authority: authorityOf(c) },
    )
    if (outcome.kind === 'updated' || outcome.kind === 'unchanged') {
      return c.json(toLegacyUser(outcome.user), 200, { Link: successorLink(`/v1/users/${outcome.user.id}`) })
    }
    // Without If-Match (the seed had none) no version can fail; kept total for the compiler.
    if (outcome.kind === 'precondition_failed') return refused(c, { kind: 'not_found', by: 'username', value: username })
    return refused(c, outcome, VOCABULARY)
  }

  const remove: Handler<'legacyDelete'> = async (c) => {
    const { username } = c.req.valid('param')
    const outcome = await users.delete({ by: 'username', value: username }, { authority: authorityOf(c) })
    if (outcome.kind === 'precondition_failed') return refused(c, { kind: 'not_found', by: 'username', value: username })
    if (outcome.kind !== 'deleted') return refused(c, outcome, VOCABULARY)
    return c.json({ message: 'User deleted' }, 200, { Link: successorLink(`/v1/users/${outcome.id}`) })
  }

  return { create, readAll, readOne, update, remove }
}
