import { OpenAPIHono } from '@hono/zod-openapi'
import { validationHook } from './errors'
import type { AppEnv } from './types'

/** Every router is an OpenAPIHono whose failed validations answer with our problem shape. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
}
