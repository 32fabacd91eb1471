import { hash, verify } from '@node-rs/argon2'
import { ARGON2_PARAMETERS, type PasswordHasher } from './passwords'

// @node-rs/argon2's Algorithm is a const enum, which isolated modules cannot import: 2 is Argon2id.
const ARGON2ID = 2

/** argon2id on Node, through @node-rs/argon2 (prebuilt, no install script); same PHC format as Bun. */
export function createNodePasswordHasher(): PasswordHasher {
  return {
    hash: (password) => hash(password, { algorithm: ARGON2ID, parallelism: 1, ...ARGON2_PARAMETERS }),
    verify: (password, hashed) => verify(hashed, password),
  }
}
