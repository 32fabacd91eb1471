/**
 * The password hash formats `passwordHash` accepts (API.md, "Password hash import"), and their
 * bounds: one regular expression per format, which is both the check and what the OpenAPI
 * document states, so a hash is accepted exactly when the document says it is. Each is strict:
 * fixed field order, decimal numbers without leading zeros, canonical base64 of the right length,
 * and costs bounded so an imported hash cannot make a sign-in absurdly slow or memory-hungry.
 * Measured on 2 cores: the slowest accepted hash of each kind takes about 1-2 s to check once
 * (bcrypt cost 15, PBKDF2 10,000,000 iterations, argon2 128 MiB × 10 passes); it is replaced by
 * our argon2id at the first sign-in.
 */

/** The bounds, for the documentation and the error messages; the patterns below encode them. */
export const HASH_BOUNDS = {
  bcryptCost: { min: 4, max: 15 },
  pbkdf2Iterations: { min: 1_000, max: 10_000_000 },
  argon2MemoryKiB: { min: 1_024, max: 131_072 },
  argon2Passes: { min: 1, max: 10 },
  argon2Lanes: { min: 1, max: 16 },
  argon2SaltBytes: { min: 8, max: 64 },
  argon2TagBytes: { min: 16, max: 64 },
  passlibSaltBytes: { min: 0, max: 64 },
  djangoSaltChars: { min: 1, max: 128 },
} as const

/** Longer than any accepted hash; refused before any pattern runs. */
export const PASSWORD_HASH_MAX_LENGTH = 512

// Decimal ranges, written out (tests/passwords.formats.test.ts checks each against every value around its bounds).
const BCRYPT_COST = '(?:0[4-9]|1[0-5])'
const PBKDF2_ITERATIONS = '(?:[1-9][0-9]{3,6}|10000000)'
const ARGON2_MEMORY =
  '(?:102[4-9]|10[3-9][0-9]|1[1-9][0-9]{2}|[2-9][0-9]{3}|[1-9][0-9]{4}|1[0-2][0-9]{4}|130[0-9]{3}|1310[0-6][0-9]|13107[0-2])'
const ARGON2_PASSES = '(?:[1-9]|10)'
const ARGON2_LANES = '(?:[1-9]|1[0-6])'

/**
 * Unpadded base64 of `min` to `max` bytes, canonical (the unused low bits of the last character
 * are zero, as every encoder writes them). `digits` is the alphabet's 64 characters as a class.
 */
export function base64Pattern(digits: string, min: number, max: number): string {
  const quad = `${digits}{4}`
  // Canonical last characters: after one byte the low 4 bits are unused, after two the low 2.
  const tail = { 1: `${digits}[AQgw]`, 2: `${digits}{2}[AEIMQUYcgkosw048]` } as const
  const options: string[] = []
  for (let quads = Math.floor(min / 3); quads <= Math.floor(max / 3); quads++) {
    const rests = [0, 1, 2].filter((rest) => quads * 3 + rest >= min && quads * 3 + rest <= max)
    const repeat = quads === 0 ? '' : `(?:${quad}){${quads}}`
    const ends = rests.map((rest) => (rest === 0 ? '' : tail[rest as 1 | 2]))
    options.push(`${repeat}${ends.length === 1 ? ends[0] : `(?:${ends.join('|')})`}`)
  }
  return `(?:${options.join('|')})`
}

const STANDARD = '[A-Za-z0-9+/]'
/** passlib's "adapted base64": the standard alphabet with `.` for `+`, no padding. */
const ADAPTED = '[A-Za-z0-9./]'
const BCRYPT_DIGIT = '[./A-Za-z0-9]'

const { argon2SaltBytes, argon2TagBytes, passlibSaltBytes, djangoSaltChars } = HASH_BOUNDS

/** Each accepted format, anchored; the scheme it names is what verification dispatches on. */
const HASH_FORMATS = {
  // PHC strings as argon2 (the reference C library, argon2-cffi, Bun, @node-rs/argon2) write them: version 19, m,t,p in order, no keyid or data.
  argon2: new RegExp(
    `^\\$argon2(?:id|i)\\$v=19\\$m=${ARGON2_MEMORY},t=${ARGON2_PASSES},p=${ARGON2_LANES}` +
      `\\$${base64Pattern(STANDARD, argon2SaltBytes.min, argon2SaltBytes.max)}` +
      `\\$${base64Pattern(STANDARD, argon2TagBytes.min, argon2TagBytes.max)}$`,
  ),
  // Modular crypt: 22 characters of salt (128 bits), 31 of hash (184 bits), canonical last characters.
  bcrypt: new RegExp(`^\\$2[aby]\\$${BCRYPT_COST}\\$${BCRYPT_DIGIT}{21}[.Oeu]${BCRYPT_DIGIT}{30}[.CGKOSWaeimquy26]$`),
  // passlib's pbkdf2_sha256: salt and 32-byte checksum in adapted base64.
  passlibPbkdf2: new RegExp(
    `^\\$pbkdf2-sha256\\$${PBKDF2_ITERATIONS}\\$${base64Pattern(ADAPTED, passlibSaltBytes.min, passlibSaltBytes.max)}` +
      `\\$${base64Pattern(ADAPTED, 32, 32)}$`,
  ),
  // Django's PBKDF2PasswordHasher: the salt is text (UTF-8, anything but `$`; visible ASCII here), the 32-byte hash padded base64.
  djangoPbkdf2: new RegExp(
    `^pbkdf2_sha256\\$${PBKDF2_ITERATIONS}\\$[!-#%-~]{${djangoSaltChars.min},${djangoSaltChars.max}}\\$${base64Pattern(STANDARD, 32, 32)}=$`,
  ),
} as const

export type HashFormat = keyof typeof HASH_FORMATS

/** The whole rule as one pattern, for the OpenAPI document. */
export const PASSWORD_HASH_PATTERN = Object.values(HASH_FORMATS)
  .map((format) => `(?:${format.source})`)
  .join('|')

/** The format of an acceptable hash, or null when it is none of them (or out of bounds). */
export function formatOf(hash: string): HashFormat | null {
  if (hash.length > PASSWORD_HASH_MAX_LENGTH) return null
  for (const [format, pattern] of Object.entries(HASH_FORMATS)) if (pattern.test(hash)) return format as HashFormat
  return null
}

/**
 * Why `hash` is refused, in words a caller can act on (the value itself never appears: it is a
 * credential). Best effort: names the bound a recognisable hash breaks, else lists the formats.
 */
export function whyRefused(hash: string): string {
  const { bcryptCost, pbkdf2Iterations, argon2MemoryKiB, argon2Passes, argon2Lanes } = HASH_BOUNDS
  const outside = (value: string | undefined, { min, max }: { min: number; max: number }) =>
    value !== undefined && /^[0-9]+$/.test(value) && (Number(value) < min || Number(value) > max)
  const bcrypt = /^\$2[aby]\$([0-9]{2})\$/.exec(hash)
  if (bcrypt && outside(bcrypt[1], bcryptCost)) return `bcrypt cost must be ${bcryptCost.min}-${bcryptCost.max}`
  const pbkdf2 = /^(?:\$pbkdf2-sha256|pbkdf2_sha256)\$([0-9]+)\$/.exec(hash)
  if (pbkdf2 && outside(pbkdf2[1], pbkdf2Iterations)) {
    return `PBKDF2 iterations must be ${pbkdf2Iterations.min.toLocaleString('en')}-${pbkdf2Iterations.max.toLocaleString('en')}`
  }
  const argon2 = /^\$argon2(?:id|i)\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$/.exec(hash)
  if (argon2 && (outside(argon2[1], argon2MemoryKiB) || outside(argon2[2], argon2Passes) || outside(argon2[3], argon2Lanes))) {
    return (
      `argon2 parameters must be m=${argon2MemoryKiB.min}-${argon2MemoryKiB.max} (KiB), ` +
      `t=${argon2Passes.min}-${argon2Passes.max}, p=${argon2Lanes.min}-${argon2Lanes.max}`
    )
  }
  return (
    'must be an argon2id or argon2i PHC string (v=19), a bcrypt hash ($2a$, $2b$, $2y$), or a PBKDF2-SHA256 hash ' +
    'as passlib ($pbkdf2-sha256$...) or Django (pbkdf2_sha256$...) writes it'
  )
}
