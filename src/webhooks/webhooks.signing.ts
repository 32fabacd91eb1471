import { Webhook } from 'standardwebhooks'

/**
 * Standard Webhooks 1.0 signing (spec/standard-webhooks.md, "Signature scheme"): each attempt
 * carries `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`, a space-separated
 * list of `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per active secret. The HMAC
 * itself is the reference implementation's (`standardwebhooks`), so what this service sends is what
 * the standard's own verifier computes.
 */

export const WEBHOOK_SECRET_PREFIX = 'whsec_'
/** 256 bits; the spec allows 24 to 64 bytes. */
const SECRET_BYTES = 32
/** How long a replaced secret keeps signing beside the new one (API.md: 24 h). */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000

const SECRET_PATTERN = /^whsec_((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$/
// The spec forbids `.` in the id (it delimits the signed content); header-safe characters only.
const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/

export type WebhookHeaders = {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

/**
 * A secret as an endpoint keeps it: the current one has no expiry, a replaced one signs until
 * `expiresAt`. `unopened`: sealed under a key not configured here; `secret` is then the sealed
 * value as stored (written back as it is), never a signing secret.
 */
export type StoredSecret = { secret: string; createdAt: Date; expiresAt?: Date; unopened?: true }

/** A new signing secret: `whsec_` and the base64 of 32 random bytes from the platform's CSPRNG. */
export function generateWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SECRET_BYTES))
  return `${WEBHOOK_SECRET_PREFIX}${Buffer.from(bytes).toString('base64')}`
}

/** Whether `value` is a signing secret as the spec serializes it: `whsec_` + base64 of 24-64 bytes. */
export function isWebhookSecret(value: string): boolean {
  const match = SECRET_PATTERN.exec(value)
  if (!match?.[1]) return false
  const length = Buffer.from(match[1], 'base64').length
  return length >= 24 && length <= 64
}

/**
 * The headers of one delivery attempt, signed with every secret given (the current one first, then
 * a replaced one during its overlap), so a receiver holding either secret verifies it.
 * Throws a TypeError for an id with characters outside [A-Za-z0-9_-], no secrets or a malformed one:
 * those are programming errors, never caller input.
 */
export function signWebhook(input: { id: string; timestamp: Date; body: string; secrets: readonly string[] }): WebhookHeaders {
  const { id, body, secrets } = input
  if (!MESSAGE_ID_PATTERN.test(id)) throw new TypeError('webhook id must be 1-128 characters of [A-Za-z0-9_-]')
  if (secrets.length === 0) throw new TypeError('at least one signing secret is needed')
  // The header carries whole seconds; sign exactly what it says.
  const seconds = Math.floor(input.timestamp.getTime() / 1000)
  if (!Number.isFinite(seconds)) throw new TypeError('timestamp must be a valid date')
  const signedAt = new Date(seconds * 1000)
  const signatures = secrets.map((secret) => {
    if (!isWebhookSecret(secret)) throw new TypeError('signing secret must be whsec_ and the base64 of 24-64 bytes')
    return new Webhook(secret).sign(id, signedAt, body)
  })
  return { 'webhook-id': id, 'webhook-timestamp': String(seconds), 'webhook-signature': signatures.join(' ') }
}

/**
 * The secrets that sign at `now`: the current one first, then any replaced one still inside its
 * overlap and open. Null when the current one is not open: nothing can be signed as the receiver expects.
 */
export function signingSecrets(stored: readonly StoredSecret[], now: Date): string[] | null {
  if (stored.some((entry) => entry.expiresAt === undefined && entry.unopened)) return null
  return [...stored]
    .filter((entry) => !entry.unopened && (entry.expiresAt === undefined || entry.expiresAt.getTime() > now.getTime()))
    .sort((a, b) => Number(a.expiresAt !== undefined) - Number(b.expiresAt !== undefined))
    .map((entry) => entry.secret)
}

/**
 * The secrets after a rotation at `now`: `next` becomes current and the secret it replaces keeps
 * signing for 24 h. Only that one is kept: a secret replaced earlier stops at once, so an endpoint
 * never signs with more than two.
 */
export function rotateSecrets(stored: readonly StoredSecret[], next: string, now: Date): StoredSecret[] {
  const current = stored.find((entry) => entry.expiresAt === undefined)
  const rotated: StoredSecret[] = [{ secret: next, createdAt: now }]
  if (current) rotated.push({ ...current, expiresAt: new Date(now.getTime() + SECRET_ROTATION_OVERLAP_MS) })
  return rotated
}
