import { createRouter } from '../http/router'
import { createUsersHandlers, type UsersDeps } from './users.handlers'
import * as routes from './users.routes'

/** The /users resource: each route chained with its handler, so the router's type carries them all. */
export function createUsersRouter(deps: UsersDeps) {
  const handlers = createUsersHandlers(deps)
  return createRouter()
    .openapi(routes.createUser, handlers.createUser)
    .openapi(routes.listUsers, handlers.listUsers)
    .openapi(routes.getUserByUsername, handlers.getUserByUsername)
    .openapi(routes.getUserByEmail, handlers.getUserByEmail)
    .openapi(routes.getUser, handlers.getUser)
    .openapi(routes.updateUser, handlers.updateUser)
    .openapi(routes.deleteUser, handlers.deleteUser)
}
