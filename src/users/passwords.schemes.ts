import { pbkdf2, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { ARGON2_PARAMETERS } from './passwords'
import { formatOf } from './passwords.formats'

/**
 * Checking a password against a stored hash of any accepted format (passwords.formats.ts): ours
 * (argon2id) and the imported ones (argon2i, bcrypt, PBKDF2-SHA256 from passlib or Django). Each
 * runtime brings its own argon2 and bcrypt (well-kept libraries: Bun.password on Bun,
 * @node-rs/argon2 and @node-rs/bcrypt on Node); PBKDF2 is node:crypto on both. Every comparison is
 * the library's constant-time one, or timingSafeEqual.
 */

/** What a runtime supplies: the libraries' own checks, each given a hash of its kind. */
export type HashPrimitives = {
  /** An argon2id or argon2i PHC string. */
  argon2(password: string, hash: string): Promise<boolean>
  /** A `$2a$`/`$2b$`/`$2y$` hash; the password is at most 72 bytes, with no NUL (see below). */
  bcrypt(password: Uint8Array, hash: string): Promise<boolean>
}

const derive = promisify(pbkdf2)

/** bcrypt reads at most 72 bytes of a password: the reference implementations ignore the rest. */
const BCRYPT_MAX_BYTES = 72

/**
 * A verify function that dispatches on the stored hash's format; a hash of no accepted format never
 * matches. Our own argon2id hashes go to the library whatever their parameters (the import's
 * bounds must never lock out users whose hashes this service made); the imported formats only
 * within the import's bounds.
 */
export function createSchemeVerifier(primitives: HashPrimitives): (password: string, hash: string) => Promise<boolean> {
  return async (password, hash) => {
    if (hash.startsWith('$argon2id$') || hash.startsWith('$argon2i$')) return primitives.argon2(password, hash)
    switch (formatOf(hash)) {
      case 'argon2':
        return primitives.argon2(password, hash)
      case 'bcrypt':
        return verifyBcrypt(primitives, password, hash)
      case 'passlibPbkdf2':
        return verifyPasslibPbkdf2(password, hash)
      case 'djangoPbkdf2':
        return verifyDjangoPbkdf2(password, hash)
      case null:
        return false
    }
  }
}

/**
 * bcrypt as the reference implementations define it: the password's first 72 bytes. Passed to the
 * library already cut, so every runtime agrees (Bun would otherwise pre-hash a longer password
 * with SHA-512 and never match a hash made elsewhere). A password with a NUL never matches: C
 * implementations stop at it (so "abc\0def" would pass for "abc") and Python's bcrypt refuses it.
 */
function verifyBcrypt(primitives: HashPrimitives, password: string, hash: string): Promise<boolean> {
  const bytes = new TextEncoder().encode(password)
  if (bytes.includes(0)) return Promise.resolve(false)
  return primitives.bcrypt(bytes.subarray(0, BCRYPT_MAX_BYTES), hash)
}

/** `$pbkdf2-sha256$<rounds>$<salt>$<checksum>`, salt and checksum in passlib's adapted base64. */
async function verifyPasslibPbkdf2(password: string, hash: string): Promise<boolean> {
  const [, , rounds = '', salt = '', checksum = ''] = hash.split('$')
  const adapted = (text: string) => Buffer.from(text.replaceAll('.', '+'), 'base64')
  return equalDerived(password, adapted(salt), Number(rounds), adapted(checksum))
}

/** `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`: Django uses the salt's text as UTF-8 bytes. */
async function verifyDjangoPbkdf2(password: string, hash: string): Promise<boolean> {
  const [, iterations = '', salt = '', encoded = ''] = hash.split('$')
  return equalDerived(password, Buffer.from(salt, 'utf8'), Number(iterations), Buffer.from(encoded, 'base64'))
}

async function equalDerived(password: string, salt: Buffer, iterations: number, expected: Buffer): Promise<boolean> {
  const derived = await derive(Buffer.from(password, 'utf8'), salt, iterations, expected.length, 'sha256')
  return derived.length === expected.length && timingSafeEqual(derived, expected)
}

/**
 * Whether a stored hash should be replaced by our argon2id after a successful sign-in: anything
 * that is not argon2id, or argon2id weaker than ours in memory or passes.
 */
export function needsRehash(hash: string): boolean {
  const ours = /^\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=[0-9]+\$/.exec(hash)
  if (!ours) return true
  return Number(ours[1]) < ARGON2_PARAMETERS.memoryCost || Number(ours[2]) < ARGON2_PARAMETERS.timeCost
}
