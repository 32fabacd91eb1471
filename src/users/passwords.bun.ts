import { ARGON2_PARAMETERS, type PasswordHasher } from './passwords'
import { createSchemeVerifier } from './passwords.schemes'

/** Bun's built-in argon2id; verification also takes the imported formats (argon2i, bcrypt, PBKDF2). */
export function createBunPasswordHasher(): PasswordHasher {
  return {
    hash: (password) => Bun.password.hash(password, { algorithm: 'argon2id', ...ARGON2_PARAMETERS }),
    // Bun.password reads the algorithm (argon2id, argon2i, bcrypt $2a$/$2b$/$2y$) from the hash.
    verify: createSchemeVerifier({
      argon2: (password, hash) => Bun.password.verify(password, hash),
      bcrypt: (password, hash) => Bun.password.verify(password, hash, 'bcrypt'),
    }),
  }
}
