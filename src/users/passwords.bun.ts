import { ARGON2_PARAMETERS, type PasswordHasher } from './passwords'

/** Bun's built-in argon2id. */
export function createBunPasswordHasher(): PasswordHasher {
  return {
    hash: (password) => Bun.password.hash(password, { algorithm: 'argon2id', ...ARGON2_PARAMETERS }),
    verify: (password, hash) => Bun.password.verify(password, hash, 'argon2id'),
  }
}
