import type { MiddlewareHandler } from 'hono'
import { problem } from './problem'
import type { AppEnv } from './types'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * For routes that read a JSON body, before idempotency and validation: only the media types the
 * route declares (415 otherwise: Hono's validator alone takes any `application/*+json`, so a JSON
 * Patch or a made-up type was read as if it were ours), and only valid UTF-8 (400 otherwise:
 * decoding replaces bad bytes with U+FFFD, which was then stored as if sent). Media-type
 * parameters such as `charset` are ignored: JSON is UTF-8 (RFC 8259). Hono caches the bytes read
 * here, so the body is read once.
 */
export function jsonBody(...mediaTypes: [string, ...string[]]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const contentType = c.req.header('content-type')
    const essence = contentType?.split(';')[0]?.trim().toLowerCase()
    if (!essence || !mediaTypes.includes(essence)) {
      const got = contentType === undefined ? 'none' : contentType.length > 100 ? `${contentType.slice(0, 100)}…` : contentType
      return problem(c, 'unsupported_media_type', `Send the body as ${mediaTypes.join(' or ')} (got '${got}').`)
    }
    // Outside the try: a body over the limit throws here, and the body-limit middleware answers 413.
    const bytes = await c.req.arrayBuffer()
    try {
      utf8.decode(bytes)
    } catch {
      return problem(c, 'malformed_json', 'The request body is not valid UTF-8.')
    }
    return next()
  }
}
