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

type UserShape = typeof user
type UserListShape = typeof userList
type ProblemShape = typeof problem
type ValidationIssueShape = typeof validationIssue
type CreateUserBodyShape = typeof createUserBody
type UpdateUserBodyShape = typeof updateUserBody
type ListUsersQueryShape = typeof listUsersQuery

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
]
