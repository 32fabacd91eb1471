import type { RouteHandler } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { hasScope } from '../auth/middleware'
import { ifNoneMatchHits, readPrecondition, toEtag } from '../http/etag'
import { problem } from '../http/problem'
import type { AppEnv } from '../http/types'
import type { PasswordHasher } from './passwords'
import { decodeCursor } from './users.cursor'
import type { UsersRepository } from './users.model'
import type * as routes from './users.routes'
import type { User } from './users.schemas'

export type UsersDeps = { users: UsersRepository; passwords: PasswordHasher }

type Handler<R extends keyof typeof routes> = RouteHandler<(typeof routes)[R], AppEnv>

/** Handlers typed from their routes; they translate HTTP to repository calls and back. */
export function createUsersHandlers({ users, passwords }: UsersDeps) {
  const createUser: Handler<'createUser'> = async (c) => {
    const { password, ...input } = c.req.valid('json')
    const privileged =
      (input.role !== undefined && input.role !== 'user') || (input.status !== undefined && input.status !== 'active')
    if (privileged && !hasScope(c.get('caller')?.scopes, 'users:admin')) {
      return problem(
        c,
        'forbidden',
        "Creating a user with a role other than 'user' or a status other than 'active' needs the scope 'users:admin'.",
      )
    }
    const user = await users.create({
      ...input,
      metadata: input.metadata ?? {},
      role: input.role ?? 'user',
      status: input.status ?? 'active',
      ...(password !== undefined ? { passwordHash: await passwords.hash(password) } : {}),
    })
    return c.json(user, 201, { ETag: toEtag(user.version), Location: `/v1/users/${user.id}` })
  }

  const getUser: Handler<'getUser'> = async (c) => {
    const user = await users.findById(c.req.valid('param').id)
    if (!user) return problem(c, 'user_not_found', `No user has id '${c.req.valid('param').id}'.`)
    return respondWithUser(c, user)
  }

  const getUserByUsername: Handler<'getUserByUsername'> = async (c) => {
    const { username } = c.req.valid('param')
    const user = await users.findByUsername(username)
    if (!user) return problem(c, 'user_not_found', `No user has username '${username}'.`)
    return respondWithUser(c, user)
  }

  const getUserByEmail: Handler<'getUserByEmail'> = async (c) => {
    const { email } = c.req.valid('param')
    const user = await users.findByEmail(email)
    if (!user) return problem(c, 'user_not_found', `No user has email '${email}'.`)
    return respondWithUser(c, user)
  }

  const listUsers: Handler<'listUsers'> = async (c) => {
    const query = c.req.valid('query')
    const after = query.cursor ? decodeCursor(query, query.cursor) : undefined
    return c.json(await users.list(query, after), 200)
  }

  const updateUser: Handler<'updateUser'> = async (c) => {
    const { id } = c.req.valid('param')
    const { password, ...patch } = c.req.valid('json')
    // Any role or status in a patch needs admin, even one equal to what is stored: deciding
    // "no change" would need a read, and the answer would tell a non-admin what the user's role is.
    if ((patch.role !== undefined || patch.status !== undefined) && !hasScope(c.get('caller')?.scopes, 'users:admin')) {
      return problem(c, 'forbidden', "Changing role or status needs the scope 'users:admin'.")
    }
    const ifMatch = readPrecondition(c, 'If-Match')
    // Hashing is the slow part (about 100 ms of CPU): do it only once the user is known to exist
    // and If-Match holds, and only once however often a lost race makes the repository retry.
    let hashing: Promise<string> | undefined
    const hashOnce = (plain: string) => {
      hashing ??= passwords.hash(plain)
      return hashing
    }
    const outcome = await users.update(id, patch, {
      ifMatch,
      ...(password !== undefined ? { hashPassword: () => hashOnce(password) } : {}),
    })
    if (outcome.kind === 'not_found' || outcome.kind === 'precondition_failed') return refused(c, id, outcome)
    return c.json(outcome.user, 200, { ETag: toEtag(outcome.user.version) })
  }

  const deleteUser: Handler<'deleteUser'> = async (c) => {
    const { id } = c.req.valid('param')
    const outcome = await users.delete(id, { ifMatch: readPrecondition(c, 'If-Match') })
    if (outcome.kind === 'not_found' || outcome.kind === 'precondition_failed') return refused(c, id, outcome)
    return c.body(null, 204)
  }

  return { createUser, getUser, getUserByUsername, getUserByEmail, listUsers, updateUser, deleteUser }
}

/** 200 with the user and its ETag, or 304 when the caller's copy is current. */
function respondWithUser(c: Context<AppEnv>, user: User) {
  const etag = toEtag(user.version)
  const ifNoneMatch = readPrecondition(c, 'If-None-Match')
  if (ifNoneMatch && ifNoneMatchHits(ifNoneMatch, user.version)) return c.body(null, 304, { ETag: etag })
  return c.json(user, 200, { ETag: etag })
}

/** The two ways a write on an existing id is refused: 404, or 412 with the current ETag. */
function refused(
  c: Context<AppEnv>,
  id: string,
  outcome: { kind: 'not_found' } | { kind: 'precondition_failed'; currentVersion: number },
) {
  if (outcome.kind === 'not_found') return problem(c, 'user_not_found', `No user has id '${id}'.`)
  const { currentVersion } = outcome
  return problem(c, 'precondition_failed', `The user is at version ${currentVersion}; If-Match did not name it.`, {
    headers: { ETag: toEtag(currentVersion) },
  })
}
