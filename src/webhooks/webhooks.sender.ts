import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import { parseRetryAfter } from './webhooks.schedule'
import { signWebhook } from './webhooks.signing'
import { pinnedLookup, type ResolvedTarget, type Resolver, resolveWebhookTarget, systemResolver } from './webhooks.target'

/**
 * One webhook delivery attempt: sign (Standard Webhooks), check the target after DNS, POST to the
 * vetted address with a deadline, follow no redirect, keep at most the first KiB of the answer,
 * and say what happened in terms the dispatcher acts on. It never throws for anything the
 * receiver or the network does.
 *
 * Built on node:http(s) rather than fetch: both Node and Bun honour its `lookup` option, which is
 * what pins the connection to the addresses the SSRF guard vetted (fetch has no portable way to
 * connect to one address while verifying TLS for the URL's host name).
 */

export type WebhookDelivery = {
  /** The endpoint's URL and the secrets that sign now (current first; see signingSecrets). */
  endpoint: { url: string; secrets: readonly string[] }
  /** The event id: the webhook-id, the same on every attempt. */
  id: string
  /** The event JSON exactly as sent: the bytes that are signed. */
  body: string
}

export type DeliveryResult = 'delivered' | 'gone' | 'retry'

/** Why an attempt failed, as a class a dashboard can group by; never a message that could carry data. */
export const DELIVERY_ERROR_CLASSES = [
  'http_status',
  'redirect',
  'timeout',
  'target_refused',
  'dns',
  'connection',
  'tls',
  'network',
  // The endpoint's current secret is sealed under a key this instance does not have (WEBHOOK_SECRET_KEYS): not sent.
  'secret_unopened',
] as const
export type DeliveryErrorClass = (typeof DELIVERY_ERROR_CLASSES)[number]

export type DeliveryOutcome = {
  /** delivered: 2xx; gone: 410, disable the endpoint; retry: anything else, on the schedule. */
  result: DeliveryResult
  attemptedAt: Date
  durationMs: number
  statusCode?: number
  errorClass?: DeliveryErrorClass
  /** A platform error code (ECONNREFUSED, CERT_HAS_EXPIRED) or the SSRF guard's reason; never a message. */
  errorCode?: string
  /** From Retry-After on a 429 or 503, capped at 24 h: the earliest next attempt. */
  retryAfterMs?: number
  /** The start of the response body, for the deliveries log (the rest is discarded unread). */
  responseBody?: string
  responseTruncated?: boolean
}

export type WebhookSenderOptions = {
  /** WEBHOOK_TIMEOUT_MS (default 15000): the whole attempt, DNS to the last byte read. */
  timeoutMs: number
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: see webhooks.target.ts. */
  allowPrivateTargets: boolean
  clock: () => Date
  resolver?: Resolver
  /** How much of a response body is kept; default 1024 bytes. */
  maxResponseBytes?: number
  /** Extra trusted CA certificates (PEM), for receivers behind a private PKI, and tests. */
  ca?: string | readonly string[]
  userAgent?: string
}

export type WebhookSender = (delivery: WebhookDelivery) => Promise<DeliveryOutcome>

const DEFAULT_MAX_RESPONSE_BYTES = 1024
const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{1,63}$/
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
])

class AttemptTimeout extends Error {
  override readonly name = 'AttemptTimeout'
}

type Response = { statusCode: number; retryAfter: string | undefined; body: Uint8Array; truncated: boolean }

/** Creates the sender with its configuration; each call is one attempt. */
export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const resolver = options.resolver ?? systemResolver
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  return async (delivery) => {
    const attemptedAt = options.clock()
    const started = performance.now()
    const finish = (outcome: Omit<DeliveryOutcome, 'attemptedAt' | 'durationMs'>): DeliveryOutcome => ({
      attemptedAt,
      durationMs: Math.round(performance.now() - started),
      ...outcome,
    })
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(new AttemptTimeout()), options.timeoutMs)
    try {
      const target = await untilAborted(
        resolveWebhookTarget(delivery.endpoint.url, { allowPrivateTargets: options.allowPrivateTargets, resolver }),
        deadline.signal,
      )
      if (!target.ok) {
        return finish({
          result: 'retry',
          errorClass: target.reason === 'unresolvable' ? 'dns' : 'target_refused',
          errorCode: target.reason,
        })
      }
      const headers = {
        ...signWebhook({ id: delivery.id, timestamp: options.clock(), body: delivery.body, secrets: delivery.endpoint.secrets }),
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(delivery.body)),
        'user-agent': options.userAgent ?? 'users-service-webhooks/1',
      }
      const response = await post(target, headers, delivery.body, { ...options, maxResponseBytes, signal: deadline.signal })
      return finish(classify(response, options.clock()))
    } catch (error) {
      return finish({ result: 'retry', ...classifyError(error, deadline.signal) })
    } finally {
      clearTimeout(timer)
    }
  }
}

/** What a response means: 2xx delivered, 410 gone, 3xx a redirect not followed, anything else retried. */
function classify(response: Response, now: Date): Omit<DeliveryOutcome, 'attemptedAt' | 'durationMs'> {
  const { statusCode } = response
  const kept = {
    statusCode,
    responseBody: new TextDecoder().decode(response.body),
    ...(response.truncated ? { responseTruncated: true } : {}),
  }
  if (statusCode >= 200 && statusCode < 300) return { result: 'delivered', ...kept }
  if (statusCode === 410) return { result: 'gone', ...kept }
  if (statusCode >= 300 && statusCode < 400) return { result: 'retry', errorClass: 'redirect', ...kept }
  const retryAfterMs = statusCode === 429 || statusCode === 503 ? parseRetryAfter(response.retryAfter, now) : undefined
  return { result: 'retry', errorClass: 'http_status', ...kept, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }
}

/** A failure before a status line: timeout, TLS, connection, or something else, with the platform's code only. */
function classifyError(error: unknown, signal: AbortSignal): Pick<DeliveryOutcome, 'errorClass' | 'errorCode'> {
  if (signal.aborted) return { errorClass: 'timeout' }
  const code = (error as { code?: unknown } | null)?.code
  const errorCode = typeof code === 'string' && ERROR_CODE_PATTERN.test(code) ? code : undefined
  const withCode = errorCode ? { errorCode } : {}
  if (errorCode && CONNECTION_CODES.has(errorCode)) return { errorClass: 'connection', ...withCode }
  if (
    errorCode &&
    /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|ERR_INVALID_CERT)/.test(errorCode)
  ) {
    return { errorClass: 'tls', ...withCode }
  }
  if (errorCode === 'ENOTFOUND' || errorCode === 'EAI_AGAIN') return { errorClass: 'dns', ...withCode }
  return { errorClass: 'network', ...withCode }
}

/** Resolves as `promise` does, or rejects with the signal's reason once it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/**
 * POSTs `body` over a fresh connection (no pooling: each attempt is pinned to its own vetted
 * addresses) and reads at most `maxResponseBytes` of the answer, then closes the connection.
 */
function post(
  target: ResolvedTarget,
  headers: Record<string, string>,
  body: string,
  options: Pick<WebhookSenderOptions, 'ca'> & { maxResponseBytes: number; signal: AbortSignal },
): Promise<Response> {
  const { url } = target
  const client = url.protocol === 'https:' ? https : http
  return new Promise<Response>((resolve, reject) => {
    const request = client.request({
      protocol: url.protocol,
      hostname: target.hostname,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers,
      agent: false,
      lookup: pinnedLookup(target.addresses),
      ...(options.ca ? { ca: options.ca as string | string[] } : {}),
    })
    const onAbort = () => request.destroy(options.signal.reason as Error)
    options.signal.addEventListener('abort', onAbort, { once: true })
    const settle = () => options.signal.removeEventListener('abort', onAbort)
    request.on('error', (error) => {
      settle()
      reject(error)
    })
    request.on('response', (response) => {
      readBounded(response, options.maxResponseBytes).then(
        (read) => {
          settle()
          request.destroy()
          resolve({ statusCode: response.statusCode ?? 0, retryAfter: header(response, 'retry-after'), ...read })
        },
        (error) => {
          settle()
          reject(error)
        },
      )
    })
    request.end(body)
  })
}

function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * The first `limit` bytes of a response body; stops reading (and lets the caller close the
 * connection) as soon as more arrives. A body cut short by the receiver keeps what came.
 */
function readBounded(response: IncomingMessage, limit: number): Promise<{ body: Uint8Array; truncated: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (truncated: boolean) => {
      if (done) return
      done = true
      response.removeAllListeners('data')
      resolve({ body: new Uint8Array(Buffer.concat(chunks).subarray(0, limit)), truncated })
    }
    response.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size > limit) finish(true)
    })
    response.on('end', () => finish(false))
    response.on('error', () => finish(false))
    response.on('aborted', () => finish(false))
  })
}
