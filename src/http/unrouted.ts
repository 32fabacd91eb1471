import type { NotFoundHandler } from 'hono'
import { TrieRouter } from 'hono/router/trie-router'
import type { RouterRoute } from 'hono/types'
import { methodNotAllowed, notFound } from './errors'
import { isEndpoint } from './router'
import type { AppEnv } from './types'

/**
 * What a request no route answered gets: 405 with `Allow` when its path has routes for other
 * methods, else 404. Hono calls it only when nothing answered, so it costs the requests that
 * matched a route nothing (issue 18: hono/method-not-allowed, the middleware it replaces, was a
 * step of every request's chain, 5 % of a GET's own CPU). Run where that middleware ran: after
 * the gates and authentication, so an unauthenticated caller still gets 401 first.
 */
export function notFoundOrNotAllowed(routes: () => readonly RouterRoute[]): NotFoundHandler<AppEnv> {
  let methods: TrieRouter<readonly string[]> | undefined
  return (c) => {
    methods ??= methodsByPath(routes())
    const allowed = new Set(methods.match('ALL', c.req.path)[0].flatMap(([names]) => names))
    return allowed.size > 0 && !allowed.has(c.req.method) ? methodNotAllowed(c, [...allowed]) : notFound(c)
  }
}

/** The methods each path's endpoints answer (HEAD wherever GET is), for matching a request's path. */
function methodsByPath(routes: readonly RouterRoute[]): TrieRouter<readonly string[]> {
  const byPath = new Map<string, Set<string>>()
  for (const route of routes) {
    if (!isEndpoint(route) || route.method === 'HEAD') continue
    const names = byPath.get(route.path) ?? new Set<string>()
    names.add(route.method)
    if (route.method === 'GET') names.add('HEAD')
    byPath.set(route.path, names)
  }
  const router = new TrieRouter<readonly string[]>()
  for (const [path, names] of byPath) router.add('ALL', path, [...names])
  return router
}
