import { createRouter } from '../http/router'
import type { IdempotencyStore } from '../idempotency/idempotency'
import { createUsersHandlers } from './users.handlers'
import { createLifecycleHandlers } from './users.lifecycle.handlers'
import * as lifecycle from './users.lifecycle.routes'
import * as routes from './users.routes'
import type { UsersService } from './users.service'

/** The /users resource: each route chained with its handler, so the router's type carries them all. */
export function createUsersRouter({ users, idempotency }: { users: UsersService; idempotency: IdempotencyStore }) {
  const handlers = createUsersHandlers(users)
  const lifecycleHandlers = createLifecycleHandlers(users)
  return createRouter()
    .openapi(routes.createUser(idempotency), handlers.createUser)
    .openapi(routes.listUsers, handlers.listUsers)
    .openapi(routes.getUserByUsername, handlers.getUserByUsername)
    .openapi(routes.getUserByEmail, handlers.getUserByEmail)
    .openapi(routes.getUser, handlers.getUser)
    .openapi(routes.updateUser, handlers.updateUser)
    .openapi(routes.deleteUser, handlers.deleteUser)
    .openapi(lifecycle.restoreUser, lifecycleHandlers.restore)
    .openapi(lifecycle.eraseUser, lifecycleHandlers.erase)
}
