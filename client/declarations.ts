/**
 * The source of the package's declarations (dist/index.d.ts). Compiled only by `build.ts`, never
 * shipped: its declaration emit writes every route shape out in full, so the published file imports
 * nothing but `hono`, and a consumer's compiler reads finished types instead of re-deriving them
 * from the server's zod schemas (Hono's `hcWithType` idea, taken one step further).
 *
 * How: declaration emit copies an explicit annotation as written, but writes a value's *inferred*
 * type out member by member unless that type has a name the output can refer to. So each shape
 * below is the inferred type of a `const` returned by `flat<T>()` or `flatRoutes<App>()`
 * (flatten.ts): an anonymous object type with every alias expanded. The contract's nouns (User,
 * Problem, ...) are interfaces, which emit refers to by name, so the route table names them
 * instead of repeating them. The `const`s exist only in the declarations; build.ts ships no
 * JavaScript from this file.
 */
import type { Env, Hono } from 'hono'
import type { ClientRequest, hc } from 'hono/client'
import type { JSONValue as HonoJsonValue } from 'hono/utils/types'
import type { AppType as ServerApp } from '../src/app'
import type * as Server from '../src/client'
import { clientTree, flat, flatRoutes, type Interchangeable, type Name, type Same } from './flatten'

/** The server's JSON object type, reached through the public names only (src/ moves things around). */
type ServerJsonObject = NonNullable<Server.CreateUserBody['metadata']>

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
/** A JSON object: what `metadata` holds. */
export type JsonObject = { [key: string]: JsonValue }

const user = flat<Server.User, Named>()
const userList = flat<Server.UserList, Named>()
const problem = flat<Server.Problem, Named>()
const validationIssue = flat<Server.ValidationIssue, Named>()
const createUserBody = flat<Server.CreateUserBody, Named>()
const updateUserBody = flat<Server.UpdateUserBody, Named>()
const listUsersQuery = flat<Server.ListUsersQuery, Named>()
const webhook = flat<Server.Webhook, Named>()
const createdWebhook = flat<Server.CreatedWebhook, Named>()
const webhookList = flat<Server.WebhookList, Named>()
const rotatedSecret = flat<Server.RotatedSecret, Named>()
const delivery = flat<Server.Delivery, Named>()
const deliveryList = flat<Server.DeliveryList, Named>()
const createWebhookBody = flat<Server.CreateWebhookBody, Named>()
const updateWebhookBody = flat<Server.UpdateWebhookBody, Named>()
const listDeliveriesQuery = flat<Server.ListDeliveriesQuery, Named>()
const userCreatedEvent = flat<Server.UserCreatedEvent, Named>()
const userUpdatedEvent = flat<Server.UserUpdatedEvent, Named>()
const userDeletedEvent = flat<Server.UserDeletedEvent, Named>()
const userRestoredEvent = flat<Server.UserRestoredEvent, Named>()
const userErasedEvent = flat<Server.UserErasedEvent, Named>()

/** A user as the service returns it (the password is never returned). */
export interface User extends UserShape {}
/** One page of users; pass `nextCursor` back as `query.cursor` for the next one. */
export interface UserList extends UserListShape {}
/** An RFC 9457 problem, the body of every 4xx and 5xx under /v1. */
export interface Problem extends ProblemShape {}
/** One invalid input of a `validation_failed` problem. */
export interface ValidationIssue extends ValidationIssueShape {}
/** The body of `POST /v1/users`. */
export interface CreateUserBody extends CreateUserBodyShape {}
/** The body of `PATCH /v1/users/{id}`: a JSON merge patch. */
export interface UpdateUserBody extends UpdateUserBodyShape {}
/** The query of `GET /v1/users` (query values are strings on the wire). */
export interface ListUsersQuery extends ListUsersQueryShape {}
/** Every problem code the service answers with. */
export type ProblemCode = Problem['code']
/** A webhook endpoint (its secret is never shown again after create and rotate). */
export interface Webhook extends WebhookShape {}
/** A new webhook endpoint, with its signing `secret`: shown only here. */
export interface CreatedWebhook extends CreatedWebhookShape {}
/** Every webhook endpoint. */
export interface WebhookList extends WebhookListShape {}
/** A webhook endpoint's new secret; the old one signs beside it until `previousSecretExpiresAt`. */
export interface RotatedSecret extends RotatedSecretShape {}
/** One event sent (or to send) to one webhook endpoint, with its last attempts. */
export interface Delivery extends DeliveryShape {}
/** A page of an endpoint's deliveries, newest first; pass `nextCursor` back as `query.cursor`. */
export interface DeliveryList extends DeliveryListShape {}
/** The body of `POST /v1/webhooks`. */
export interface CreateWebhookBody extends CreateWebhookBodyShape {}
/** The body of `PATCH /v1/webhooks/{id}`: a JSON merge patch. */
export interface UpdateWebhookBody extends UpdateWebhookBodyShape {}
/** The query of `GET /v1/webhooks/{id}/deliveries` (query values are strings on the wire). */
export interface ListDeliveriesQuery extends ListDeliveriesQueryShape {}
/** A user was created; `data.user` is the new user. */
export interface UserCreatedEvent extends UserCreatedEventShape {}
/** A user was changed; `data.user` is the user after the change, `data.changed` the fields that changed. */
export interface UserUpdatedEvent extends UserUpdatedEventShape {}
/** A user was deleted (soft); `data.user` is the user as it was. */
export interface UserDeletedEvent extends UserDeletedEventShape {}
/** A deleted user was restored; `data.user` is the user, live again. */
export interface UserRestoredEvent extends UserRestoredEventShape {}
/** A user was erased; `data` is empty (and earlier events of the user keep only ids). */
export interface UserErasedEvent extends UserErasedEventShape {}
/** One change to one user, as the feed lists it and a webhook POSTs it; narrow on `type`. */
export type ChangeEvent = UserCreatedEvent | UserUpdatedEvent | UserDeletedEvent | UserRestoredEvent | UserErasedEvent
/** The event types. */
export type ChangeEventType = ChangeEvent['type']

type UserShape = typeof user
type UserListShape = typeof userList
type ProblemShape = typeof problem
type ValidationIssueShape = typeof validationIssue
type CreateUserBodyShape = typeof createUserBody
type UpdateUserBodyShape = typeof updateUserBody
type ListUsersQueryShape = typeof listUsersQuery
type WebhookShape = typeof webhook
type CreatedWebhookShape = typeof createdWebhook
type WebhookListShape = typeof webhookList
type RotatedSecretShape = typeof rotatedSecret
type DeliveryShape = typeof delivery
type DeliveryListShape = typeof deliveryList
type CreateWebhookBodyShape = typeof createWebhookBody
type UpdateWebhookBodyShape = typeof updateWebhookBody
type ListDeliveriesQueryShape = typeof listDeliveriesQuery
type UserCreatedEventShape = typeof userCreatedEvent
type UserUpdatedEventShape = typeof userUpdatedEvent
type UserDeletedEventShape = typeof userDeletedEvent
type UserRestoredEventShape = typeof userRestoredEvent
type UserErasedEventShape = typeof userErasedEvent

/**
 * The server's types that the route table names by the interfaces above: each as the server
 * declares it, and as a response body (Name adds hono's JSONParsed form). JSON values are named
 * because they are recursive: written out, they would never end.
 */
type Named =
  | Name<Server.User, User>
  | Name<Server.UserList, UserList>
  | Name<Server.Problem, Problem>
  | Name<Server.ValidationIssue, ValidationIssue>
  | Name<Server.CreateUserBody, CreateUserBody>
  | Name<Server.UpdateUserBody, UpdateUserBody>
  | Name<Server.ListUsersQuery, ListUsersQuery>
  | Name<Server.Webhook, Webhook>
  | Name<Server.CreatedWebhook, CreatedWebhook>
  | Name<Server.WebhookList, WebhookList>
  | Name<Server.RotatedSecret, RotatedSecret>
  | Name<Server.Delivery, Delivery>
  | Name<Server.DeliveryList, DeliveryList>
  | Name<Server.CreateWebhookBody, CreateWebhookBody>
  | Name<Server.UpdateWebhookBody, UpdateWebhookBody>
  | Name<Server.ListDeliveriesQuery, ListDeliveriesQuery>
  | Name<Server.UserCreatedEvent, UserCreatedEvent>
  | Name<Server.UserUpdatedEvent, UserUpdatedEvent>
  | Name<Server.UserDeletedEvent, UserDeletedEvent>
  | Name<Server.UserRestoredEvent, UserRestoredEvent>
  | Name<Server.UserErasedEvent, UserErasedEvent>
  | [ServerJsonObject, ServerJsonObject, JsonObject]
  // What hono's client types make of an `unknown` in a response body (JSONParsed).
  | [HonoJsonValue, HonoJsonValue, JsonValue]

const routes = flatRoutes<ServerApp, Named>()

/** Every route of the API: path → method → one entry per status it answers, with its body. */
export type UsersApiSchema = typeof routes

/** The API as a Hono app type, for hono/client's helpers (`hc<AppType>`, `InferResponseType`). */
export type AppType = Hono<Env, UsersApiSchema, '/'>

/**
 * One route of the client: hono/client's request functions for path P (`$get`, `$post`, ...,
 * `$url`, `$path`), and the routes below it.
 */
export type Route<P extends keyof UsersApiSchema, Below = unknown> = ClientRequest<string, P, UsersApiSchema[P]> & Below

const client = clientTree<keyof UsersApiSchema>()

/**
 * The typed client: `client.v1.users[':id'].$get({ param: { id } })`. Written out when the
 * package is built (it is what `hc<AppType>` computes; the build checks that), so a consumer's
 * compiler does not work it out again from the route table.
 */
export type UsersClient = typeof client

// Written out rather than derived, to keep its doc comments; a check below holds it to src/client.ts's.
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
export declare function createUsersClient(options: UsersClientOptions): UsersClient

/** Why verifyWebhook refused a webhook; `reason` is stable, the message is for people. */
export type WebhookVerificationFailure =
  | 'missing_header'
  | 'malformed_header'
  | 'timestamp_out_of_range'
  | 'bad_signature'
  | 'malformed_body'

/** Thrown by verifyWebhook when a webhook is not one users-service signed for this secret, now. */
export declare class WebhookVerificationError extends Error {
  readonly name: 'WebhookVerificationError'
  readonly reason: WebhookVerificationFailure
  constructor(reason: WebhookVerificationFailure, message: string)
}

/** Web `Headers`, or a plain object such as Node's `IncomingHttpHeaders` (any case). */
export type WebhookRequestHeaders = Headers | Record<string, string | readonly string[] | undefined>

export type VerifyWebhookOptions = {
  /** How far webhook-timestamp may be from now, either way; default 300 (5 minutes). */
  toleranceSeconds?: number
  /** The current time (a Date or epoch milliseconds); default the system clock. */
  now?: Date | number
}

/**
 * Verifies a webhook from users-service (Standard Webhooks: webhook-id, webhook-timestamp,
 * webhook-signature) and returns its event. Pass the body exactly as received (text or bytes),
 * never JSON parsed and serialized again. `secret` is the endpoint's `whsec_...` secret, or several.
 * Throws a WebhookVerificationError (a missing or malformed header, a timestamp more than
 * `toleranceSeconds` away, no matching `v1` signature, a body that is not the event), or a
 * TypeError for a secret that is not a `whsec_` secret. Web Crypto only: Node 20+, Bun, Deno,
 * browsers, workers.
 *
 *   const event = await verifyWebhook(process.env.WEBHOOK_SECRET, request.headers, await request.text())
 *   if (event.type === 'user.created') console.log(event.data.user?.username)
 */
export declare function verifyWebhook(
  secret: string | readonly string[],
  headers: WebhookRequestHeaders,
  rawBody: string | Uint8Array | ArrayBuffer,
  options?: VerifyWebhookOptions,
): Promise<ChangeEvent>

// Build-time checks (they fail `bun run typecheck` and the build): the published nouns are
// interchangeable with the server's, and the declared factory takes what the exported one takes.
type Check<T extends true> = T
type _Checks = [
  Check<Interchangeable<User, Server.User>>,
  Check<Interchangeable<UserList, Server.UserList>>,
  Check<Interchangeable<Problem, Server.Problem>>,
  Check<Interchangeable<ValidationIssue, Server.ValidationIssue>>,
  Check<Interchangeable<CreateUserBody, Server.CreateUserBody>>,
  Check<Interchangeable<UpdateUserBody, Server.UpdateUserBody>>,
  Check<Interchangeable<ListUsersQuery, Server.ListUsersQuery>>,
  Check<Same<ProblemCode, Server.ProblemCode>>,
  Check<Same<UsersClientOptions, Server.UsersClientOptions>>,
  Check<Interchangeable<UsersClient, ReturnType<typeof hc<AppType>>>>,
  Check<Same<Parameters<typeof createUsersClient>, Parameters<typeof Server.createUsersClient>>>,
  Check<Interchangeable<Webhook, Server.Webhook>>,
  Check<Interchangeable<CreatedWebhook, Server.CreatedWebhook>>,
  Check<Interchangeable<WebhookList, Server.WebhookList>>,
  Check<Interchangeable<RotatedSecret, Server.RotatedSecret>>,
  Check<Interchangeable<Delivery, Server.Delivery>>,
  Check<Interchangeable<DeliveryList, Server.DeliveryList>>,
  Check<Interchangeable<CreateWebhookBody, Server.CreateWebhookBody>>,
  Check<Interchangeable<UpdateWebhookBody, Server.UpdateWebhookBody>>,
  Check<Interchangeable<ListDeliveriesQuery, Server.ListDeliveriesQuery>>,
  Check<Interchangeable<ChangeEvent, Server.ChangeEvent>>,
  Check<Same<ChangeEventType, Server.ChangeEventType>>,
  Check<Same<WebhookVerificationFailure, Server.WebhookVerificationFailure>>,
  Check<Same<WebhookRequestHeaders, Server.WebhookRequestHeaders>>,
  Check<Same<VerifyWebhookOptions, Server.VerifyWebhookOptions>>,
  Check<Same<Parameters<typeof verifyWebhook>, Parameters<typeof Server.verifyWebhook>>>,
  Check<Interchangeable<Awaited<ReturnType<typeof verifyWebhook>>, Awaited<ReturnType<typeof Server.verifyWebhook>>>>,
  Check<Interchangeable<WebhookVerificationError, Server.WebhookVerificationError>>,
]
