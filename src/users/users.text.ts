import { z } from '@hono/zod-openapi'
import { isWellFormed, WELL_FORMED_MESSAGE } from './users.metadata'

/** Text rules shared by the users schemas (users.schemas.ts, users.fields.ts). */

// What String.prototype.trim removes, spelled out so that every regex engine (a client's,
// Schemathesis's) reads the document's patterns as JavaScript does.
export const TRIMMED = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff'
/** For the document: a string that is not empty once trimmed (JSON Schema patterns are unanchored). */
export const NOT_BLANK_PATTERN = `[^${TRIMMED}]`

// Control characters (\p{Cc}) and bidirectional overrides make names that render as something else.
export const UNSAFE = '\\x00-\\x1F\\x7F-\\x9F\\u202A-\\u202E\\u2066-\\u2069'
const UNSAFE_DISPLAY_CHARACTERS = new RegExp(`[${UNSAFE}]`)
const UNSAFE_MESSAGE = 'must not contain control characters or bidirectional overrides (U+202A-U+202E, U+2066-U+2069)'
// For the document: no unsafe character, and something left once trimmed.
const DISPLAY_NAME_PATTERN = `^[^${UNSAFE}]*[^${UNSAFE}${TRIMMED}][^${UNSAFE}]*$`

/** A person's name or a short note: at most `max` characters as sent, trimmed, not empty, nothing unsafe. */
export function nameText(max: number, example: string) {
  return (
    z
      .string()
      // The limit applies to what is sent, before trimming, as the document's maxLength does.
      .max(max, `must be at most ${max} characters`)
      .trim()
      .min(1, 'must not be empty')
      .refine((value) => !UNSAFE_DISPLAY_CHARACTERS.test(value), UNSAFE_MESSAGE)
      .refine(isWellFormed, WELL_FORMED_MESSAGE)
      .openapi({ pattern: DISPLAY_NAME_PATTERN, example })
  )
}
