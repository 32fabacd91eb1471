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
    if (request.url.startsWith('/')) request = new Request(new URL(`http://localhost${request.url}`), request)
    return fetch(request, ...rest)
  }
}

/** How long a long poll's connection may stay silent on Bun: the longest wait (30 s) and a margin. */
const LONG_POLL_IDLE_SECONDS = 60

/**
 * Bun.serve closes a connection that has sent nothing for 10 s, pending answer or not, and
 * GET /v1/events?waitSeconds= may hold its answer 30 s. Such a request gets a longer idle time of
 * its own (Bun's `server.timeout`), every other keeps the default. Node's server has no such limit
 * on a pending answer.
 */
export function allowLongPolls<Server extends { timeout(request: Request, seconds: number): void }>(
  fetch: (request: Request, server: Server) => Response | Promise<Response>,
): (request: Request, server: Server) => Response | Promise<Response> {
  return (request, server) => {
    if (request.url.includes('/v1/events') && request.url.includes('waitSeconds='))
      server.timeout(request, LONG_POLL_IDLE_SECONDS)
    return fetch(request, server)
  }
}
