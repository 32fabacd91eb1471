/** Hono environment shared by every router: what middleware puts on the context. */
export type AppEnv = {
  Variables: {
    requestId: string
  }
}
