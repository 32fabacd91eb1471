import type { z } from '@hono/zod-openapi'
import { hc } from 'hono/client'
import type { AppType } from './app'
import type {
  ChangeEvent,
  EventType,
  UserCreatedEventSchema,
  UserDeletedEventSchema,
  UserErasedEventSchema,
  UserRestoredEventSchema,
  UserUpdatedEventSchema,
} from './events/events.schemas'
import type { Problem, ProblemCode, ValidationIssue } from './http/problem'
import type { CreateUserSchema, ListUsersQuerySchema, UpdateUserSchema, User, UserListSchema } from './users/users.schemas'
import type {
  CreatedWebhookSchema,
  CreateWebhookSchema,
  Delivery,
  DeliveryListSchema,
  ListDeliveriesQuerySchema,
  RotatedSecretSchema,
  UpdateWebhookSchema,
  Webhook,
  WebhookListSchema,
} from './webhooks/webhooks.schemas'

/**
 * What consumers import: a typed client for every route, and the contract's types. Published as
 * @users-service/client (client/): its JavaScript is this file, bundled; its declarations are the
 * same names with every route shape written out (client/declarations.ts), held to these by checks.
 * The tests use this file directly, in-process.
 */

export type { AppType, ChangeEvent, EventType as ChangeEventType, Problem, ProblemCode, User, ValidationIssue }
export type UserCreatedEvent = z.output<typeof UserCreatedEventSchema>
export type UserUpdatedEvent = z.output<typeof UserUpdatedEventSchema>
export type UserDeletedEvent = z.output<typeof UserDeletedEventSchema>
export type UserRestoredEvent = z.output<typeof UserRestoredEventSchema>
export type UserErasedEvent = z.output<typeof UserErasedEventSchema>
// What a webhook receiver calls on each request: Standard Webhooks verification, then the typed
// event. No import at run time (Web Crypto only), so it adds nothing but itself to the bundle.
export {
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookRequestHeaders,
  WebhookVerificationError,
  type WebhookVerificationFailure,
} from './events/events.verify'
export type CreateUserBody = z.input<typeof CreateUserSchema>
export type UpdateUserBody = z.input<typeof UpdateUserSchema>
export type ListUsersQuery = z.input<typeof ListUsersQuerySchema>
export type UserList = z.output<typeof UserListSchema>
export type { Delivery, Webhook }
export type CreateWebhookBody = z.input<typeof CreateWebhookSchema>
export type UpdateWebhookBody = z.input<typeof UpdateWebhookSchema>
export type CreatedWebhook = z.output<typeof CreatedWebhookSchema>
export type RotatedSecret = z.output<typeof RotatedSecretSchema>
export type WebhookList = z.output<typeof WebhookListSchema>
export type DeliveryList = z.output<typeof DeliveryListSchema>
export type ListDeliveriesQuery = z.input<typeof ListDeliveriesQuerySchema>

export type UsersClient = ReturnType<typeof hc<AppType>>

export type UsersClientOptions = {
  /** Where the service runs, e.g. `http://users-service:3000`. */
  baseUrl: string
  /** A fetch to use instead of the global one (tests, tracing, retries). */
  fetch?: typeof fetch
  /** The bearer token (an API key or a JWT); a function is called per request, so it can refresh. */
  token?: string | (() => string | Promise<string>)
  /** Headers sent with every request (`X-Request-Id`, ...); a function is called per request. */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>)
}

/**
 * Creates the typed client. Narrow on `res.status` to read typed bodies:
 *
 *   const res = await client.v1.users[':id'].$get({ param: { id } })
 *   if (res.status === 200) console.log((await res.json()).username)
 */
export function createUsersClient(options: UsersClientOptions): UsersClient {
  const { token, headers } = options
  const client = hc<AppType>(options.baseUrl, {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(token || headers
      ? {
          headers: async () => ({
            ...(typeof headers === 'function' ? await headers() : headers),
            ...(token ? { Authorization: `Bearer ${typeof token === 'function' ? await token() : token}` } : {}),
          }),
        }
      : {}),
  })
  return encodePathParams(client)
}

/**
 * hono/client substitutes path parameters verbatim, so an email such as `a/b@x.io` or a `?`
 * would change the URL's shape. This wraps the client proxy so every `param` value is
 * percent-encoded first; the server decodes it back.
 */
function encodePathParams<T extends object>(target: T): T {
  return new Proxy(target, {
    get: (object, key) => {
      const value = Reflect.get(object, key)
      return typeof value === 'function' || (typeof value === 'object' && value !== null) ? encodePathParams(value) : value
    },
    apply: (fn, thisArg, args: unknown[]) => {
      const [first, ...rest] = args
      if (first && typeof first === 'object' && 'param' in first && first.param && typeof first.param === 'object') {
        const param = Object.fromEntries(Object.entries(first.param).map(([k, v]) => [k, encodeURIComponent(String(v))]))
        return Reflect.apply(fn as (...a: unknown[]) => unknown, thisArg, [{ ...first, param }, ...rest])
      }
      return Reflect.apply(fn as (...a: unknown[]) => unknown, thisArg, args)
    },
  })
}
