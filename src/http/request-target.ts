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
 * Bun.serve closes a connection that has sent nothing for 10 s, pending answer or not, and
 * GET /v1/events?waitSeconds= may hold its answer 30 s. The feed's handler calls this for such a
 * request, once the caller is authenticated and authorized and the query valid: its connection gets
 * a longer idle time of its own (Bun's `server.timeout`; on Bun, Hono's `c.env` is the server),
 * every other keeps the default. It used to be granted on the URL's text before routing, so any
 * request naming `/v1/events` and `waitSeconds=`, unauthenticated too, held its connection six
 * times as long (a security review). Nothing on Node, whose server has no such limit on a pending answer.
 */
export function holdingAnswer(c: Context): void {
  const server = c.env as { timeout?: (request: Request, seconds: number) => void } | undefined
  if (typeof server?.timeout === 'function') server.timeout(receivedAs.get(c.req.raw) ?? c.req.raw, LONG_POLL_IDLE_SECONDS)
}
