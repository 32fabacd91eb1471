import type { DatabaseHandle } from '../db/calls'
import { type Collection, type Filter, ObjectId } from '../db/driver'
import type { UserDocument } from './users.document'
import { NOT_DELETED } from './users.lifecycle.document'
import type { UsersRepository } from './users.model'

/**
 * What a successful sign-in writes: `lastSignInAt`, and the upgrade of an imported or weaker hash
 * to our argon2id. Neither is a change to the user (API.md v1.1): no version, no updatedAt, so an
 * administrator's If-Match still holds after the user signs in. One updateOne; the upgrade is
 * guarded by the hash it replaces, so a password changed meanwhile is never overwritten with the
 * old one's upgrade (then a second updateOne still records the time). Neither touches a user
 * deleted or erased meanwhile.
 */
export function createSignInWrites(
  { call }: DatabaseHandle,
  users: Collection<UserDocument>,
): Pick<UsersRepository, 'recordSignIn'> {
  const update = async (filter: Filter<UserDocument>, set: Partial<UserDocument>) =>
    (await call((limit) => users.updateOne(filter, { $set: set }, limit))).matchedCount === 1
  return {
    async recordSignIn(id, { at, rehash }) {
      const _id = new ObjectId(id)
      const signedIn = at !== undefined ? { lastSignInAt: new Date(at) } : {}
      // Never on a user deleted or erased since the password was checked.
      const live = { _id, ...NOT_DELETED }
      if (rehash && (await update({ ...live, passwordHash: rehash.from }, { ...signedIn, passwordHash: rehash.to }))) return
      if (at !== undefined) await update(live, signedIn)
    },
  }
}
