import type { RouteConfig } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { hasScope } from '../auth/middleware'
import { ifNoneMatchHits, readIfMatch, readPrecondition, toEtag } from '../http/etag'
import type { Handler as RouteHandler } from '../http/handler'
import { refused } from '../http/outcomes'
import { readQueryFlag } from '../http/query-flag'
import type { AppEnv } from '../http/types'
import type * as routes from './users.routes'
import type { User } from './users.schemas'
import type { Authority, UsersService } from './users.service'

/**
 * Each route's config; a route built per app (createUser) by what its factory returns. The
 * module's other exports (the parts users.lifecycle.routes.ts shares) are left out.
 */
type Resolved<T> = T extends (...args: never[]) => infer R ? R : T
type Routes = {
  [K in keyof typeof routes as Resolved<(typeof routes)[K]> extends RouteConfig ? K : never]: Resolved<(typeof routes)[K]>
}
type Handler<R extends keyof Routes> = RouteHandler<Routes[R], AppEnv>

/** The caller's authority over users: `users:admin` grants the administrative one (/v1 and the compatibility routes). */
export function authorityOf(c: Context<AppEnv>): Authority {
  return { admin: hasScope(c.get('caller')?.scopes, 'users:admin') }
}

/** Handlers typed from their routes: HTTP in, one service call, the outcome back to HTTP. */
export function createUsersHandlers(users: UsersService) {
  const createUser: Handler<'createUser'> = async (c) => {
    const outcome = await users.create(c.req.valid('json'), authorityOf(c))
    if (outcome.kind !== 'created') return refused(c, outcome)
    const { user } = outcome
    return c.json(user, 201, { ETag: toEtag(user.version), Location: `/v1/users/${user.id}` })
  }

  const getUser: Handler<'getUser'> = async (c) => {
    const { id } = c.req.valid('param')
    if (readQueryFlag(c, 'includeDeleted')) return respondWithUser(c, await users.getIncludingDeleted(id, authorityOf(c)))
    return respondWithUser(c, await users.get({ by: 'id', value: id }))
  }

  const getUserByUsername: Handler<'getUserByUsername'> = async (c) =>
    respondWithUser(c, await users.get({ by: 'username', value: c.req.valid('param').username }))

  const getUserByEmail: Handler<'getUserByEmail'> = async (c) =>
    respondWithUser(c, await users.findByEmail(c.req.valid('param').email))

  const listUsers: Handler<'listUsers'> = async (c) => {
    const query = c.req.valid('query')
    const page = query.deleted ? await users.listDeleted(query, authorityOf(c)) : await users.list(query)
    return 'kind' in page ? refused(c, page) : c.json(page, 200)
  }

  const updateUser: Handler<'updateUser'> = async (c) => {
    const ref = { by: 'id', value: c.req.valid('param').id } as const
    const outcome = await users.update(ref, c.req.valid('json'), { authority: authorityOf(c), ifMatch: readIfMatch(c) })
    if (outcome.kind !== 'updated' && outcome.kind !== 'unchanged') return refused(c, outcome)
    return c.json(outcome.user, 200, { ETag: toEtag(outcome.user.version) })
  }

  const deleteUser: Handler<'deleteUser'> = async (c) => {
    const ref = { by: 'id', value: c.req.valid('param').id } as const
    const outcome = await users.delete(ref, { authority: authorityOf(c), ifMatch: readIfMatch(c) })
    if (outcome.kind !== 'deleted') return refused(c, outcome)
    return c.body(null, 204)
  }

  return { createUser, getUser, getUserByUsername, getUserByEmail, listUsers, updateUser, deleteUser }
}

/** 200 with the user and its ETag, 304 when the caller's copy is current, or 404. */
function respondWithUser(c: Context<AppEnv>, found: Awaited<ReturnType<UsersService['getIncludingDeleted']>>) {
  if ('kind' in found) return refused(c, found)
  const user: User = found
  const etag = toEtag(user.version)
  const ifNoneMatch = readPrecondition(c, 'If-None-Match')
  if (ifNoneMatch && ifNoneMatchHits(ifNoneMatch, user.version)) return c.body(null, 304, { ETag: etag })
  return c.json(user, 200, { ETag: etag })
}
