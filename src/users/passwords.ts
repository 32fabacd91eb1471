/** Hashes and verifies passwords; injected so each runtime can bring its own argon2id. */
export interface PasswordHasher {
  /** An argon2id PHC string (`$argon2id$v=19$m=65536,t=2,p=1$...`). */
  hash(password: string): Promise<string>
  verify(password: string, hash: string): Promise<boolean>
}

/**
 * OWASP's argon2id baseline is m=19 MiB, t=2; 64 MiB and t=2 (about 100 ms here) is what
 * Bun.password and @node-rs/argon2 both default to and verify interchangeably.
 */
export const ARGON2_PARAMETERS = { memoryCost: 65536, timeCost: 2 } as const

/** Bun's built-in argon2id. */
export function createBunPasswordHasher(): PasswordHasher {
  return {
    hash: (password) => Bun.password.hash(password, { algorithm: 'argon2id', ...ARGON2_PARAMETERS }),
    verify: (password, hash) => Bun.password.verify(password, hash, 'argon2id'),
  }
}
