import type { ObjectId, UpdateFilter } from 'mongodb'
import type { JsonObject } from './users.metadata'
import type { NewUser, UserChanges } from './users.model'
import type { User } from './users.schemas'

/**
 * The stored shape of a user and its mapping to and from the API's User: the only place that
 * knows both. `usernameKey`/`emailKey` are lower-cased copies carrying the unique indexes; the
 * password hash is stored here and never leaves through `toUser`.
 */
export type UserDocument = {
  _id: ObjectId
  username: string
  usernameKey: string
  email: string
  emailKey: string
  displayName?: string
  metadata: JsonObject
  role: User['role']
  status: User['status']
  passwordHash?: string
  createdAt: Date
  updatedAt: Date
  version: number
  /** Set by DELETE (users.lifecycle.writes.ts): the user is deleted, its unique keys released. */
  deletedAt?: Date
  /** When a deleted or erased user is purged (the sweeper deletes it then; reads treat it as gone). */
  purgeAt?: Date
  /** Set by erase: the document is a tombstone without any personal value. */
  erasedAt?: Date
}

/** The collection holding users. Private to the users storage modules. */
export const USERS_COLLECTION = 'users'

/**
 * A new user's stored document, built in one place for the API's creates and the import, so an
 * imported user is stored exactly like one created through the API.
 */
export function newUserDocument(input: NewUser, _id: ObjectId, createdAt: Date, updatedAt = createdAt): UserDocument {
  return {
    _id,
    username: input.username,
    usernameKey: input.username.toLowerCase(),
    email: input.email,
    emailKey: input.email.toLowerCase(),
    ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
    metadata: input.metadata,
    role: input.role,
    status: input.status,
    ...(input.passwordHash !== undefined ? { passwordHash: input.passwordHash } : {}),
    createdAt,
    updatedAt,
    version: 1,
  }
}

/** Maps a stored document to the API's User. The password hash never leaves this function. */
export function toUser(doc: UserDocument): User {
  return {
    id: doc._id.toHexString(),
    username: doc.username,
    email: doc.email,
    ...(doc.displayName !== undefined ? { displayName: doc.displayName } : {}),
    metadata: doc.metadata ?? {},
    role: doc.role,
    status: doc.status,
    hasPassword: typeof doc.passwordHash === 'string',
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
    version: doc.version,
    ...(doc.deletedAt ? { deletedAt: doc.deletedAt.toISOString() } : {}),
    ...(doc.deletedAt && doc.purgeAt ? { purgeAt: doc.purgeAt.toISOString() } : {}),
  }
}

/** The normalized unique keys a change sets. */
export function keysOf(changes: Pick<UserChanges, 'username' | 'email'>): { usernameKey?: string; emailKey?: string } {
  return {
    ...(changes.username !== undefined ? { usernameKey: changes.username.toLowerCase() } : {}),
    ...(changes.email !== undefined ? { emailKey: changes.email.toLowerCase() } : {}),
  }
}

/** The update that applies `changes`: their fields and keys, the time, and the next version. */
export function toUpdate(changes: UserChanges, timestamp: Date): UpdateFilter<UserDocument> {
  const { displayName, ...rest } = changes
  const set: Partial<UserDocument> = { ...rest, ...keysOf(changes), updatedAt: timestamp }
  if (displayName !== undefined && displayName !== null) set.displayName = displayName
  return {
    $set: set,
    $inc: { version: 1 },
    ...(displayName === null ? { $unset: { displayName: '' as const } } : {}),
  }
}
