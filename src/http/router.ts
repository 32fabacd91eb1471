import { OpenAPIHono } from '@hono/zod-openapi'
import type { RouterRoute } from 'hono/types'
import { validationHook } from './errors'
import type { AppEnv } from './types'

/** Every router is an OpenAPIHono whose failed validations answer with our problem shape. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
}

/** Handlers mounted with `on(methods, path)` that are middleware all the same (the body limit). */
const middleware = new WeakSet<object>()

/** Marks a handler mounted on some methods as middleware: never taken for an endpoint. */
export function asMiddleware<T extends object>(handler: T): T {
  middleware.add(handler)
  return handler
}

/**
 * Whether a registered route is an endpoint (a method on a path) rather than middleware, which
 * the app mounts on every method (`use`) or marks with asMiddleware (the body limit's `on`).
 */
export const isEndpoint = (route: RouterRoute): boolean => route.method !== 'ALL' && !middleware.has(route.handler)
