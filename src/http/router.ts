import { OpenAPIHono } from '@hono/zod-openapi'
import type { RouterRoute } from 'hono/types'
import { validationHook } from './errors'
import type { AppEnv } from './types'

/** Every router is an OpenAPIHono whose failed validations answer with our problem shape. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
}

/**
 * Whether a registered route is an endpoint (a method on a path) rather than middleware, which
 * the app mounts on every method (`use`) or on a wildcard path (the body limit: `on(methods, '/*')`).
 */
export const isEndpoint = (route: RouterRoute): boolean => route.method !== 'ALL' && !route.path.endsWith('*')
