import type { Context } from 'hono'

/**
 * Bun hands `fetch` a relative URL (`/static/v1/users/...`) for a request without a usable Host:
 * HTTP/1.0 with none, or HTTP/1.1 with `Host:` empty. Hono reads the path of a URL after its scheme
 * and host, so such a request was routed one segment short (`/v1/users/...`), past any path rule of
 * a proxy in front (issue 13). Here it gets `localhost` as its host and is routed on its target
 * exactly as sent, as @hono/node-server does with its default hostname: a missing Host is legal in
 * HTTP/1.0, which some load balancers' health checks still speak. The target is appended to the
 * origin, never resolved against it, so `//evil.example/x` stays a path on this host; dot segments
 * are removed as Bun does when a Host is present.
 */
export function routeOnRequestTarget<Rest extends unknown[]>(
  fetch: (request: Request, ...rest: Rest) => Response | Promise<Response>,
): (request: Request, ...rest: Rest) => Response | Promise<Response> {
  return (request, ...rest) => {
    if (!request.url.startsWith('/')) return fetch(request, ...rest)
    const routed = new Request(new URL(`http://localhost${request.url}`), request)
    receivedAs.set(routed, request)
    return fetch(routed, ...rest)
  }
}

/**
 * The request Bun handed over, for one routeOnRequestTarget rebuilt: Bun's per-request calls
 * (`server.timeout`) take only its own object, and do nothing, silently, for another.
 */
const receivedAs = new WeakMap<Request, Request>()

/** How long a long poll's connection may stay silent on Bun: the longest wait (30 s) and a margin. */
const LONG_POLL_IDLE_SECONDS = 60

/**
 * Bun.serve closes a connection that has sent nothing for its idle time (bunIdleTimeout), pending
 * answer or not, and GET /v1/events?waitSeconds= may hold its answer 30 s. The feed's handler calls
 * this for such a request, once the caller is authenticated and authorized and the query valid: its
 * connection gets an idle time of its own, at least 60 s (Bun's `server.timeout`; on Bun, Hono's
 * `c.env` is the server, through servedOnBun), every other keeps the listener's. It used to be
 * granted on the URL's text before routing, so any request naming `/v1/events` and `waitSeconds=`,
 * unauthenticated too, held its connection six times as long (a security review). Nothing on Node,
 * whose server has no such limit on a pending answer.
 */
export function holdingAnswer(c: Context): void {
  const server = c.env as { timeout?: (request: Request, seconds: number) => void } | undefined
  if (typeof server?.timeout === 'function') server.timeout(receivedAs.get(c.req.raw) ?? c.req.raw, LONG_POLL_IDLE_SECONDS)
}

/** What Bun's server is to the app (Hono's `c.env`): the per-request idle time holdingAnswer sets. */
export type IdleTimer = { timeout(request: Request, seconds: number): void }

/** Bun's idle timer moves in steps of this many seconds (uSockets' timer). */
const BUN_IDLE_STEP_SECONDS = 4

/**
 * The `idleTimeout` to give Bun.serve for connections to stay open at least `seconds` while idle.
 * Bun's timer moves in 4 s steps: given n, it closes a silent connection after between
 * 4 × (⌈n/4⌉ − 1) and 4 × ⌈n/4⌉ seconds (measured on Bun 1.4.5), up to 4 s short of n, which behind
 * a load balancer with the same idle timeout means 502s. One step more: never before `seconds`, at
 * most 7 s after. Bun counts a request still being answered as idle too, so `seconds` also bounds a
 * silent pending answer (HTTP_IDLE_TIMEOUT_SECONDS is at least 5: cut after 8 s at the earliest, as
 * with Bun's default of 10 before it was configurable).
 */
export function bunIdleTimeout(seconds: number): number {
  return seconds + BUN_IDLE_STEP_SECONDS
}

/**
 * Bun.serve's `fetch` for an app: routed on the request target (routeOnRequestTarget), with Bun's
 * server as the app's env, its per-request idle time never set below the listener's `idleTimeout`.
 * Bun keeps a request's own idle time on the connection after the answer, until the next request
 * arrives, so a long poll's 60 s would close a kept-alive connection sooner than the listener's 79 s
 * (HTTP_IDLE_TIMEOUT_SECONDS's 75, one step more), before a load balancer's 60 s had passed.
 */
export function servedOnBun(
  fetch: (request: Request, env: IdleTimer) => Response | Promise<Response>,
  idleTimeout: number,
): (request: Request, server: IdleTimer) => Response | Promise<Response> {
  // One env per server (a listener has one), not one per request: the hot path allocates nothing more.
  const envs = new WeakMap<IdleTimer, IdleTimer>()
  const envOf = (server: IdleTimer) => {
    let env = envs.get(server)
    if (!env) {
      env = { timeout: (received, seconds) => server.timeout(received, Math.max(seconds, idleTimeout)) }
      envs.set(server, env)
    }
    return env
  }
  return routeOnRequestTarget((request: Request, server: IdleTimer) => fetch(request, envOf(server)))
}
