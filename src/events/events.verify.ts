import type { ChangeEvent } from './events.schemas'

/**
 * What a consumer calls on each webhook it receives: checks the Standard Webhooks signature and
 * timestamp, then returns the typed event. Standalone on purpose: no import at run time, only Web
 * Crypto, TextEncoder and atob, so it runs unchanged on Bun, Node 20+, Deno, browsers and edge
 * runtimes; the client package exports it.
 *
 * Pass the body exactly as received (the raw bytes or text): JSON parsed and serialized again is
 * not what was signed, and fails.
 */

export type WebhookVerificationFailure =
  | 'missing_header'
  | 'malformed_header'
  | 'timestamp_out_of_range'
  | 'bad_signature'
  | 'malformed_body'

/** Why a webhook was refused; `reason` is stable, the message is for people. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError'
  constructor(
    readonly reason: WebhookVerificationFailure,
    message: string,
  ) {
    super(message)
  }
}

/** Web `Headers`, or a plain object such as Node's `IncomingHttpHeaders` (any case). */
export type WebhookRequestHeaders = Headers | Record<string, string | readonly string[] | undefined>

export type VerifyWebhookOptions = {
  /** How far webhook-timestamp may be from now, either way; default 300 (5 minutes). */
  toleranceSeconds?: number
  /** The current time (a Date or epoch milliseconds); default the system clock. */
  now?: Date | number
}

const DEFAULT_TOLERANCE_SECONDS = 300
const MAX_SIGNATURES = 16
const SECRET_PREFIX = 'whsec_'
const encoder = new TextEncoder()

/**
 * Verifies a webhook from users-service and returns its event. `secret` is the endpoint's
 * `whsec_...` secret, or several (a consumer rolling its own configuration during a rotation).
 * Throws a WebhookVerificationError when a header is missing or malformed, the timestamp is more
 * than `toleranceSeconds` away, no `v1` signature matches, or the body is not this webhook's event;
 * a TypeError when a secret is not a `whsec_` secret.
 */
export async function verifyWebhook(
  secret: string | readonly string[],
  headers: WebhookRequestHeaders,
  rawBody: string | Uint8Array | ArrayBuffer,
  options: VerifyWebhookOptions = {},
): Promise<ChangeEvent> {
  const keys = (typeof secret === 'string' ? [secret] : [...secret]).map(decodeSecret)
  if (keys.length === 0) throw new TypeError('verifyWebhook needs at least one secret')

  const id = readHeader(headers, 'webhook-id')
  const timestamp = readHeader(headers, 'webhook-timestamp')
  const signatures = readHeader(headers, 'webhook-signature')
  if (!/^[\x21-\x7E]{1,256}$/.test(id)) throw new WebhookVerificationError('malformed_header', 'webhook-id is malformed')
  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError('malformed_header', 'webhook-timestamp must be whole seconds since the epoch')
  }
  checkTimestamp(Number(timestamp), options)

  const candidates = signatures
    .split(' ')
    .filter(Boolean)
    .slice(0, MAX_SIGNATURES)
    .flatMap((entry) => {
      const [version, value] = entry.split(',', 2)
      const bytes = version === 'v1' && value ? decodeBase64(value) : undefined
      return bytes ? [bytes] : []
    })
  const body = typeof rawBody === 'string' ? encoder.encode(rawBody) : new Uint8Array(rawBody)
  const signed = concat(encoder.encode(`${id}.${timestamp}.`), body)
  if (!(await anySignatureMatches(keys, candidates, signed))) {
    throw new WebhookVerificationError('bad_signature', 'no v1 signature matches the secret')
  }
  return readEvent(body, id)
}

function readHeader(headers: WebhookRequestHeaders, name: string): string {
  let value: string | readonly string[] | null | undefined
  if (typeof (headers as Headers).get === 'function') {
    value = (headers as Headers).get(name)
  } else {
    const record = headers as Record<string, string | readonly string[] | undefined>
    const key = Object.keys(record).find((k) => k.toLowerCase() === name)
    value = key === undefined ? undefined : record[key]
  }
  if (Array.isArray(value)) {
    if (value.length !== 1) throw new WebhookVerificationError('malformed_header', `${name} must be sent once`)
    value = value[0]
  }
  if (typeof value !== 'string' || value === '') throw new WebhookVerificationError('missing_header', `${name} is missing`)
  return value.trim()
}

function checkTimestamp(seconds: number, options: VerifyWebhookOptions): void {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new TypeError('toleranceSeconds must be 0 or more')
  const nowMs = options.now === undefined ? Date.now() : typeof options.now === 'number' ? options.now : options.now.getTime()
  // An invalid Date (`new Date(undefined)`) or NaN would pass any timestamp: a programming error.
  if (!Number.isFinite(nowMs)) throw new TypeError('now must be a valid Date or epoch milliseconds')
  const offset = seconds - Math.floor(nowMs / 1000)
  if (offset < -tolerance) {
    throw new WebhookVerificationError('timestamp_out_of_range', `webhook-timestamp is more than ${tolerance} seconds old`)
  }
  if (offset > tolerance) {
    throw new WebhookVerificationError('timestamp_out_of_range', `webhook-timestamp is more than ${tolerance} seconds ahead`)
  }
}

/** Web Crypto's HMAC verify compares in constant time. */
async function anySignatureMatches(keys: Uint8Array[], signatures: Uint8Array[], signed: Uint8Array): Promise<boolean> {
  for (const raw of keys) {
    const key = await crypto.subtle.importKey('raw', raw as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    for (const signature of signatures) {
      if (await crypto.subtle.verify('HMAC', key, signature as BufferSource, signed as BufferSource)) return true
    }
  }
  return false
}

function readEvent(body: Uint8Array, id: string): ChangeEvent {
  let event: unknown
  try {
    event = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    throw new WebhookVerificationError('malformed_body', 'the body is not JSON')
  }
  const candidate = event as Partial<ChangeEvent> | null
  if (typeof candidate !== 'object' || candidate === null || candidate.id !== id || typeof candidate.type !== 'string') {
    throw new WebhookVerificationError('malformed_body', 'the body is not the event webhook-id names')
  }
  return event as ChangeEvent
}

function decodeSecret(secret: string): Uint8Array {
  const bytes = secret.startsWith(SECRET_PREFIX) ? decodeBase64(secret.slice(SECRET_PREFIX.length)) : undefined
  if (!bytes || bytes.length < 24 || bytes.length > 64) {
    throw new TypeError('a webhook secret is whsec_ followed by the base64 of 24-64 bytes')
  }
  return bytes
}

function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length)
  joined.set(a)
  joined.set(b, a.length)
  return joined
}
