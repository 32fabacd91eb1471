/** Hashes and verifies passwords; injected so each runtime can bring its own argon2id. */
export interface PasswordHasher {
  /** An argon2id PHC string (`$argon2id$v=19$m=65536,t=2,p=1$...`). */
  hash(password: string): Promise<string>
  verify(password: string, hash: string): Promise<boolean>
}

/**
 * Above OWASP's argon2id baseline (m=19 MiB, t=2): 64 MiB, t=2, p=1, about 100 ms here. These are
 * Bun.password's defaults; every runtime's hasher passes them explicitly, so a hash made on one
 * verifies on the other.
 */
export const ARGON2_PARAMETERS = { memoryCost: 65536, timeCost: 2 } as const
