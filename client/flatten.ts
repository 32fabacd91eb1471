/**
 * Type-level helpers for declarations.ts (not shipped). For a concrete type each resolves to an
 * anonymous object type (a mapped type out of a conditional branch), which carries no alias that
 * declaration emit could refer to: emit writes it out member by member, down to the names it can
 * use (the nouns, `Route<path>`).
 */
import type { Hono } from 'hono'
import type { JSONParsed } from 'hono/utils/types'
import type { Route, UsersApiSchema } from './declarations'

/** Whether A and B are the same type to the compiler, whatever each is called. */
export type Same<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false

/** Whether each of A and B is assignable to the other. */
export type Interchangeable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

type IsAny<T> = 0 extends 1 & T ? true : false

/** The public name of T: `N` of the entry `[S, J, N]` of Named where T is S or J, else never. */
type NameOf<T, Named> = Named extends [infer S, infer J, infer N]
  ? Same<T, S> extends true
    ? N
    : Same<T, J> extends true
      ? N
      : never
  : never

/** An entry of Named: S, S as a JSON response body (hono's JSONParsed: what `res.json()` gives), and its name. */
export type Name<S, N> = [S, JSONParsed<S>, N]

/**
 * T with every alias expanded, member by member (unions distributed, functions kept), except
 * that a part with the shape of a named type (the whole of T, or one member of a union) becomes
 * that name. Recursive types must be named: expanding them never ends.
 */
export type Flat<T, Named = never> =
  IsAny<T> extends true ? T : [NameOf<T, Named>] extends [never] ? FlatMembers<T, Named> : NameOf<T, Named>

type FlatMembers<T, Named> = T extends unknown
  ? [NameOf<T, Named>] extends [never]
    ? T extends (...args: never) => unknown
      ? T
      : T extends object
        ? { [K in keyof T]: Flat<T[K], Named> }
        : T
    : NameOf<T, Named>
  : never

/** A named type's own members, expanded; nested parts may be named. */
export declare function flat<T, Named = never>(): { [K in keyof T]: Flat<T[K], Named> }

type SchemaOf<App> = App extends Hono<infer _Env, infer S, infer _BasePath> ? S : never

/** The routes a client calls: all but the docs page and its assets, which are for browsers. */
type ClientPaths<S> = Exclude<keyof S, `/docs${string}`>

/** The app's route table (path → method → endpoint union), expanded. */
export declare function flatRoutes<App, Named>(): {
  [P in ClientPaths<SchemaOf<App>>]: { [M in keyof SchemaOf<App>[P]]: Flat<SchemaOf<App>[P][M], Named> }
}

/** A path's segments as hono/client chains them: '/v1/users/:id' → ['v1', 'users', ':id'], '/' → ['index']. */
type Segments<P extends string> = P extends `/${infer R}`
  ? Segments<R>
  : P extends `${infer Head}/${infer Rest}`
    ? [Head, ...Segments<Rest>]
    : [P extends '' ? 'index' : P]

type Entry = { path: keyof UsersApiSchema; segments: string[] }
type EntriesOf<P> = P extends string ? { path: P; segments: Segments<P> } : never
type Deeper<E> = E extends { path: infer P; segments: [string, ...infer Rest extends string[]] }
  ? { path: P; segments: Rest }
  : never
type EndsHere<E extends Entry> = Extract<E, { segments: [string] }>

/** The chain below one segment: Route<path> where a route ends, with the longer paths inside it. */
type Level<E extends Entry> = { [K in E['segments'][0]]: NodeOf<Extract<E, { segments: [K, ...string[]] }>> }
type NodeOf<E extends Entry> = [Exclude<E, EndsHere<E>>] extends [never]
  ? Route<EndsHere<E>['path']>
  : [EndsHere<E>] extends [never]
    ? Level<Deeper<Exclude<E, EndsHere<E>>>>
    : Route<EndsHere<E>['path'], Level<Deeper<Exclude<E, EndsHere<E>>>>>

/**
 * The client object for a set of paths, as one tree: what hono/client's `hc` computes as an
 * intersection of one chain per path, with the routes named `Route<path>`.
 */
export declare function clientTree<Paths extends keyof UsersApiSchema & string>(): Level<EntriesOf<Paths>>
