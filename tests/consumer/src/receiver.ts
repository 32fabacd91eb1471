import { type ChangeEvent, verifyWebhook, WebhookVerificationError } from '@users-service/client'

/** What this service keeps of each user it hears about; a real one keeps it in its database. */
const users = new Map<string, { version: number; email?: string | undefined; gone?: true }>()
/** Event ids already handled: a webhook comes at least once, so a retry must change nothing. */
const handled = new Set<string>()

/**
 * A users-service webhook endpoint, for any server of web-standard requests (Bun.serve,
 * Deno.serve, a Hono route's `c.req.raw`, a worker's fetch). `secret` is the endpoint's whsec_...
 */
export async function receiveWebhook(request: Request, secret: string): Promise<Response> {
  let event: ChangeEvent
  try {
    // The raw body, exactly as sent: JSON parsed and serialized again is not what was signed.
    event = await verifyWebhook(secret, request.headers, await request.text())
  } catch (error) {
    if (error instanceof WebhookVerificationError) return new Response(error.reason, { status: 400 })
    throw error
  }
  if (handled.has(event.id)) return new Response(null, { status: 204 }) // a retry of one already handled
  const known = users.get(event.userId)
  // Deliveries are not ordered: apply an event only if it is newer than what is known of its user.
  if (!known || event.userVersion > known.version) {
    if (event.type === 'user.erased' || event.type === 'user.deleted') {
      // Keep the version (a late, older event must not bring the user back), forget the rest.
      users.set(event.userId, { version: event.userVersion, gone: true })
    } else {
      users.set(event.userId, { version: event.userVersion, email: event.data.user?.email })
    }
  }
  handled.add(event.id)
  // Any 2xx is delivered; 410 would tell users-service to stop sending (the endpoint is disabled).
  return new Response(null, { status: 204 })
}
