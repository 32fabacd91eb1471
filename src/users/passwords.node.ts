import { hash, verify } from '@node-rs/argon2'
import { verify as verifyBcrypt } from '@node-rs/bcrypt'
import { ARGON2_PARAMETERS, type PasswordHasher } from './passwords'
import { createSchemeVerifier } from './passwords.schemes'

// @node-rs/argon2's Algorithm is a const enum, which isolated modules cannot import: 2 is Argon2id.
const ARGON2ID = 2

/**
 * argon2id on Node, through @node-rs/argon2; bcrypt through @node-rs/bcrypt (both prebuilt, no
 * install script); same PHC format as Bun. Verification also takes the imported formats.
 */
export function createNodePasswordHasher(): PasswordHasher {
  return {
    hash: (password) => hash(password, { algorithm: ARGON2ID, parallelism: 1, ...ARGON2_PARAMETERS }),
    // @node-rs/argon2 reads the variant (argon2id, argon2i) and its parameters from the hash.
    verify: createSchemeVerifier({
      argon2: (password, hashed) => verify(hashed, password),
      bcrypt: (password, hashed) => verifyBcrypt(Buffer.from(password), hashed),
    }),
  }
}
