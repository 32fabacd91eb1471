import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ZodError } from 'zod'
import { AUTH_OFF_CALLER, type Authenticator } from '../auth/authenticate'
import { challengeFor, hasScope } from '../auth/middleware'
import { InvalidInputError, UnavailableError } from '../errors'
import { insufficientScope } from '../http/challenge'
import type { Handler } from '../http/handler'
import type { AppEnv } from '../http/types'
import type { UsersService } from '../users/users.service'
import { listOf, SERVICE_PROVIDER_CONFIG, USER_RESOURCE_TYPE, USER_SCHEMA } from './scim.discovery'
import { SCIM_MEDIA_TYPE, ScimError, type ScimType, scimErrorBody } from './scim.errors'
import { createScimUsersHandlers } from './scim.handlers'
import { scimError, scimHeaders } from './scim.http'
import { SCIM_BASE } from './scim.resource'
import * as routes from './scim.routes'

export { SCIM_BASE } from './scim.resource'

/**
 * SCIM 2.0 (RFC 7643/7644) at /scim/v2, for identity providers (Entra ID, Okta): one more
 * surface over the users service. Two parts, mounted apart by app.ts:
 * - the gate (createScimGate), ahead of the app's body limit and 405 check: authentication with
 *   the scope `scim`, and every error answer under /scim/v2 in SCIM's format, whoever made it;
 * - the routes (createScimRouter): in the OpenAPI document, outside the typed client's AppType
 *   (the client is for /v1), with their own validation hook and error handler.
 */
export function createScimRouter({ users }: { users: UsersService }) {
  const handlers = createScimUsersHandlers(users)
  const router = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
    .openapi(routes.listUsers, handlers.listUsers)
    .openapi(routes.createUser, handlers.createUser)
    .openapi(routes.searchUsers, notOffered)
    .openapi(routes.getUser, handlers.getUser)
    .openapi(routes.replaceUser, handlers.replaceUser)
    .openapi(routes.patchUser, handlers.patchUser)
    .openapi(routes.deleteUser, handlers.deleteUser)
    .openapi(routes.searchAll, notOffered)
    .openapi(routes.serviceProviderConfig, (c) => c.json(SERVICE_PROVIDER_CONFIG, 200, scimHeaders()))
    .openapi(routes.resourceTypes, (c) => c.json(listOf([USER_RESOURCE_TYPE]), 200, scimHeaders()))
    .openapi(routes.resourceType, (c) =>
      c.req.valid('param').id === USER_RESOURCE_TYPE.id
        ? c.json(USER_RESOURCE_TYPE, 200, scimHeaders())
        : scimError(c, 404, 'No resource type has this id; this service offers User.'),
    )
    .openapi(routes.schemas, (c) => c.json(listOf([USER_SCHEMA]), 200, scimHeaders()))
    .openapi(routes.schema, (c) =>
      c.req.valid('param').id === USER_SCHEMA.id
        ? c.json(USER_SCHEMA, 200, scimHeaders())
        : scimError(c, 404, `No schema has this id; this service offers ${USER_SCHEMA.id}.`),
    )
  router.onError(handleScimErrors)
  return router
}

/** POST /.search: RFC 7644 §3.4.3 makes it optional; 501 is what scim2-tester takes for "not offered". */
const notOffered: Handler<typeof routes.searchAll> = (c) =>
  scimError(c, 501, 'Searching with POST is not offered; use GET /Users with a filter.')

/** A failed validation of the query (400 invalidValue) or of the body (not an object: 400 invalidSyntax). */
function validationHook(result: { success: true } | { success: false; error: ZodError; target: string }, c: Context<AppEnv>) {
  if (result.success) return
  const [issue] = result.error.issues
  const where = issue && issue.path.length > 0 ? `'${issue.path.join('.')}'` : 'The body'
  const scimType: ScimType =
    result.target === 'json' ? 'invalidSyntax' : issue?.path[0] === 'filter' ? 'invalidFilter' : 'invalidValue'
  return scimError(c, 400, `${where} ${issue?.message ?? 'is not valid'}.`, scimType)
}

/**
 * The router's error handler: SCIM's refusals and the domain's thrown outcomes in SCIM's format.
 * Anything else goes on to the app's handler (logged, 500), whose answer the gate turns into SCIM's.
 */
const handleScimErrors: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof ScimError) return scimError(c, error.status as 400 | 403 | 409, error.detail, error.scimType)
  // The JSON validator's only refusal: a body that is not JSON.
  if (error instanceof HTTPException && error.status === 400) {
    return scimError(c, 400, 'The request body is not valid JSON.', 'invalidSyntax')
  }
  if (error instanceof InvalidInputError) return scimError(c, 400, error.message, 'invalidValue')
  if (error instanceof UnavailableError) {
    return scimError(c, 503, error.message, undefined, { 'Retry-After': String(error.retryAfterSeconds) })
  }
  throw error
}

/** What the gate needs: the app's authenticator. */
export type ScimGateDeps = { authenticator: Authenticator }

/**
 * Ahead of everything else on /scim/v2 (app.ts mounts it before the body limit): errors in SCIM's
 * format, then the bearer token with the scope `scim` (SCIM 401/403), before any body is read.
 */
export function createScimGate(deps: ScimGateDeps) {
  const router = new OpenAPIHono<AppEnv>()
  for (const path of [SCIM_BASE, `${SCIM_BASE}/*`]) router.use(path, inScimFormat(), authenticate(deps.authenticator))
  return router
}

function authenticate(authenticator: Authenticator): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!authenticator.enabled) {
      c.set('caller', AUTH_OFF_CALLER)
      return next()
    }
    const result = await authenticator.authenticate(c.req.header('authorization'))
    if ('reason' in result) return scimError(c, 401, result.description, undefined, { 'WWW-Authenticate': challengeFor(result) })
    c.set('caller', result)
    if (!hasScope(result.scopes, 'scim')) {
      return scimError(c, 403, "This endpoint needs the scope 'scim'.", undefined, {
        'WWW-Authenticate': insufficientScope('scim'),
      })
    }
    return next()
  }
}

/** Problem codes of the app's own answers that SCIM gives a `scimType`. */
const SCIM_TYPES_OF: Record<string, ScimType> = { malformed_json: 'invalidSyntax', validation_failed: 'invalidValue' }

/**
 * Any problem+json answer made on the way (the body limit's 413, the 405 check, the 404 of an
 * unknown URL, a 500 or 503 of the app's error handler) becomes a SCIM Error with the same
 * status, detail and headers (Allow, Retry-After, WWW-Authenticate...).
 */
function inScimFormat(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next()
    if (!c.res.headers.get('content-type')?.startsWith('application/problem+json')) return
    const problem = (await c.res
      .clone()
      .json()
      .catch(() => ({}))) as { code?: string; detail?: string }
    const headers = new Headers(c.res.headers)
    headers.set('Content-Type', SCIM_MEDIA_TYPE)
    headers.delete('Content-Length')
    const body = scimErrorBody(c.res.status, problem.detail, problem.code ? SCIM_TYPES_OF[problem.code] : undefined)
    const status = c.res.status
    // Unset first: Hono's setter would otherwise copy the old answer's headers onto the new one.
    c.res = undefined
    c.res = new Response(JSON.stringify(body), { status, headers })
  }
}
