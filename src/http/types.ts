/** Who made the request, once authenticated: a name for logs and the scopes it holds. */
export type Caller = { name: string; scopes: ReadonlySet<string> }

/** Hono environment shared by every router: what middleware puts on the context. */
export type AppEnv = {
  Variables: {
    requestId: string
    /** Set by the auth middleware when auth is on; absent for anonymous calls. */
    caller?: Caller
  }
}
