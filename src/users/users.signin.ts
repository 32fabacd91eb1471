import { UnavailableError } from '../errors'
import type { PasswordHasher } from './passwords'
import { needsRehash } from './passwords.schemes'
import type { UsersRepository } from './users.model'
import type { User } from './users.schemas'

/** Part of the users service (only it imports this): checking a login's password. */

/**
 * A user found by login, and the one way to check a password against it (the hash stays here).
 * After a successful `verify`, `user` is the user as signed in: with the new `lastSignInAt` when
 * it is active (a disabled user is not signed in, so its time is not recorded).
 */
export type Login = { user: User; verify(password: string): Promise<boolean> }

type Deps = { users: UsersRepository; passwords: PasswordHasher; now: () => Date }

/**
 * findLogin and rejectUnknownLogin. A successful check records the sign-in (`lastSignInAt`) and,
 * when the stored hash is imported or weaker than ours, replaces it with our argon2id: one write,
 * awaited (a sign-in that answered 200 has its time stored), that is not a change (no version,
 * no updatedAt: users.signin.writes.ts).
 */
export function createSignIn({ users, passwords, now }: Deps) {
  // Checking a password for an unknown login against a real hash of the same cost makes it take
  // as long as a wrong password. Made only when first needed, and made again if making it failed
  // (a full hashing pool answers 503): a cached rejection would refuse every later unknown login.
  let dummyHash: Promise<string> | undefined
  const dummy = () => {
    dummyHash ??= passwords.hash(crypto.randomUUID()).catch((error: unknown) => {
      dummyHash = undefined
      throw error
    })
    return dummyHash
  }
  const checkPassword = async (password: string, hash: string | undefined): Promise<boolean> =>
    passwords.verify(password, hash ?? (await dummy()))

  /** Our argon2id of a right password, or undefined when the hashing pool is full: the upgrade waits for the next sign-in. */
  const upgraded = (password: string) =>
    passwords.hash(password).catch((error: unknown) => {
      if (error instanceof UnavailableError) return undefined
      throw error
    })

  /** After a right password: the time if the user may sign in, and the upgrade of its hash if due. */
  async function signedIn(login: Login, password: string, hash: string): Promise<void> {
    const at = login.user.status === 'active' ? now().toISOString() : undefined
    const to = needsRehash(hash) ? await upgraded(password) : undefined
    const rehash = to !== undefined ? { from: hash, to } : undefined
    if (at === undefined && rehash === undefined) return
    await users.recordSignIn(login.user.id, { ...(at !== undefined ? { at } : {}), ...(rehash ? { rehash } : {}) })
    if (at !== undefined) login.user = { ...login.user, lastSignInAt: at }
  }

  return {
    /** The user a login names (users.model.ts's findCredentials says how), and the one way to check its password. */
    async findLogin(login: string): Promise<Login | null> {
      const found = await users.findCredentials(login)
      if (!found) return null
      const { passwordHash } = found
      const result: Login = {
        user: found.user,
        async verify(password) {
          // No password set: checked against the dummy anyway, so every failure costs the same.
          const right = (await checkPassword(password, passwordHash)) && passwordHash !== undefined
          if (right && passwordHash !== undefined) await signedIn(result, password, passwordHash)
          return right
        },
      }
      return result
    },
    /** For a login that names nobody: as slow as a wrong password, and always false. */
    async rejectUnknownLogin(password: string): Promise<false> {
      await checkPassword(password, undefined)
      return false
    },
  }
}
