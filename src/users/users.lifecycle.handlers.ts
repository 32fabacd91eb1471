import { readIfMatch, toEtag } from '../http/etag'
import type { Handler } from '../http/handler'
import { refused } from '../http/outcomes'
import type { AppEnv } from '../http/types'
import { authorityOf } from './users.handlers'
import type { eraseUser, restoreUser } from './users.lifecycle.routes'
import type { UsersService } from './users.service'

/** The lifecycle's handlers: HTTP in, one service call, the outcome back to HTTP. */
export function createLifecycleHandlers(users: UsersService) {
  const restore: Handler<typeof restoreUser, AppEnv> = async (c) => {
    const { id } = c.req.valid('param')
    const outcome = await users.restore(id, { authority: authorityOf(c), ifMatch: readIfMatch(c) })
    if (outcome.kind !== 'restored') return refused(c, outcome)
    return c.json(outcome.user, 200, { ETag: toEtag(outcome.user.version) })
  }

  const erase: Handler<typeof eraseUser, AppEnv> = async (c) => {
    const outcome = await users.erase(c.req.valid('param').id, { authority: authorityOf(c), ifMatch: readIfMatch(c) })
    if (outcome.kind !== 'erased') return refused(c, outcome)
    return c.body(null, 204)
  }

  return { restore, erase }
}
