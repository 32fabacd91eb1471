/**
 * The source of the package's entry declarations, dist/index.d.ts (for `import`) and
 * dist/index.d.cts (for `require`): what the JavaScript of each exports (the factory, the webhook
 * verifier and its error class), and every type of declarations.ts re-exported. Compiled only by
 * `build.ts`, which points the `./declarations` specifier at the shipped dist/types.d.cts: the
 * route types are written once and read by both entries, instead of twice (issue 12's size limit).
 * An ESM declaration file may import types from a CommonJS one; the reverse needs `require(esm)`,
 * which `Node16` consumers do not have, so the shared file is the `.d.cts`.
 */
import type * as Server from '../src/client'
import type {
  ChangeEvent,
  UsersClient,
  UsersClientOptions,
  VerifyWebhookOptions,
  WebhookRequestHeaders,
  WebhookVerificationFailure,
} from './declarations'
import type * as Entry from './entry'
import type { Interchangeable, Same } from './flatten'

export type * from './declarations'

/**
 * Creates the typed client. Narrow on `res.status` to read typed bodies:
 *
 *   const res = await client.v1.users[':id'].$get({ param: { id } })
 *   if (res.status === 200) console.log((await res.json()).username)
 */
export declare function createUsersClient(options: UsersClientOptions): UsersClient

/** Thrown by verifyWebhook when a webhook is not one users-service signed for this secret, now. */
export declare class WebhookVerificationError extends Error {
  readonly name: 'WebhookVerificationError'
  readonly reason: WebhookVerificationFailure
  constructor(reason: WebhookVerificationFailure, message: string)
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

// Build-time checks (they fail `bun run typecheck` and the build): the values declared here are
// the values src/client.ts exports, and take and give what those take and give.
type Check<T extends true> = T
type _Checks = [
  Check<Same<keyof typeof Entry, keyof typeof Server>>,
  Check<Same<Parameters<typeof createUsersClient>, Parameters<typeof Server.createUsersClient>>>,
  Check<Same<Parameters<typeof verifyWebhook>, Parameters<typeof Server.verifyWebhook>>>,
  Check<Interchangeable<Awaited<ReturnType<typeof verifyWebhook>>, Awaited<ReturnType<typeof Server.verifyWebhook>>>>,
  Check<Interchangeable<WebhookVerificationError, Server.WebhookVerificationError>>,
]
