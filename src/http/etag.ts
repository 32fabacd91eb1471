import type { Context } from 'hono'
import { AppError } from './app-error'

/**
 * Entity tags are the user's version: `"<version>"`. Only strong tags are ever issued, so weak
 * ones (`W/"3"`) can match If-None-Match (weak comparison, RFC 9110 §8.8.3.2) but never If-Match.
 */
export function toEtag(version: number): string {
  return `"${version}"`
}

// RFC 9110 §8.8.3: an entity tag's characters are visible ASCII other than `"`; `,` is left out
// too, as it separates the tags of a list (none of ours contains one).
const ETAG_CHARACTER = '[\\x21\\x23-\\x2B\\x2D-\\x7E]'
const ENTITY_TAG_SOURCE = `(?:W/)?"${ETAG_CHARACTER}*"`

/**
 * The syntax of an If-Match / If-None-Match value that the service accepts: `*`, or a comma-separated
 * list of entity tags. The OpenAPI document publishes this very pattern, so it cannot drift from the parser.
 */
export const PRECONDITION_PATTERN = `^[ \\t]*(?:\\*|${ENTITY_TAG_SOURCE}(?:[ \\t]*,[ \\t]*${ENTITY_TAG_SOURCE})*)[ \\t]*$`
export const PRECONDITION_MAX_LENGTH = 1024
const PRECONDITION = new RegExp(PRECONDITION_PATTERN)
const ENTITY_TAG = new RegExp(`^[ \\t]*(W/)?"(${ETAG_CHARACTER}*)"[ \\t]*$`)

/** Parsed `If-Match` / `If-None-Match`: `*`, or the versions named by the listed tags. */
export type Precondition = { any: true } | { any: false; strong: number[]; weak: number[] }

/** Parses an If-Match / If-None-Match header value; `null` when it is not a valid list of entity tags. */
export function parsePrecondition(header: string): Precondition | null {
  if (!PRECONDITION.test(header)) return null
  if (header.trim() === '*') return { any: true }
  const strong: number[] = []
  const weak: number[] = []
  for (const part of header.split(',')) {
    const match = ENTITY_TAG.exec(part)
    if (!match) return null
    const [, weakPrefix, tag = ''] = match
    const version = /^[1-9][0-9]{0,15}$/.test(tag) ? Number(tag) : Number.NaN
    // A well-formed tag that is not one of ours simply never matches.
    if (!Number.isSafeInteger(version)) continue
    ;(weakPrefix ? weak : strong).push(version)
  }
  return { any: false, strong, weak }
}

/** If-Match uses strong comparison. */
export function ifMatchAllows(precondition: Precondition, version: number): boolean {
  return precondition.any || precondition.strong.includes(version)
}

/** If-None-Match uses weak comparison: true when the client's copy is current. */
export function ifNoneMatchHits(precondition: Precondition, version: number): boolean {
  return precondition.any || precondition.strong.includes(version) || precondition.weak.includes(version)
}

/** If-Match as the users service takes it: `any`, or the versions its strong tags name. */
export function readIfMatch(c: Context): 'any' | number[] | undefined {
  const precondition = readPrecondition(c, 'If-Match')
  if (!precondition) return undefined
  return precondition.any ? 'any' : precondition.strong
}

/**
 * Reads If-Match or If-None-Match. A malformed value is a 400 rather than "no precondition":
 * silently ignoring a broken If-Match would turn a guarded write into an unguarded one.
 */
export function readPrecondition(c: Context, header: 'If-Match' | 'If-None-Match'): Precondition | undefined {
  const value = c.req.header(header)
  if (value === undefined) return undefined
  const parsed = value.length <= PRECONDITION_MAX_LENGTH ? parsePrecondition(value) : null
  if (parsed) return parsed
  const message = 'must be `*` or a comma-separated list of entity tags such as "3"'
  throw new AppError('validation_failed', `The ${header} header ${message}.`, {
    errors: [{ location: 'header', pointer: `/${header.toLowerCase()}`, code: 'invalid_format', message }],
  })
}
