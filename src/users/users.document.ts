import type { ObjectId, UpdateFilter } from '../db/driver'
import { effectiveStatus } from './users.disabled.document'
import type { JsonObject } from './users.metadata'
import type { NewUser, UserChanges } from './users.model'
import type { EraseHold, OutboxFields } from './users.outbox.document'
import { newProfileDocument, type ProfileDocument, toProfile } from './users.profile.document'
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
} & ProfileDocument &
  OutboxFields &
  EraseHold

/** The collection holding users. Private to the users storage modules. */
export const USERS_COLLECTION = 'users'

/**
 * The projection of every read that answers with users: the stored document without its outbox
 * (`eventBase` and `pendingEvents`, a copy of the user and up to 100 more, for the relay alone),
 * which would otherwise about double what each read decodes.
 */
export const WITHOUT_OUTBOX = { projection: { eventBase: 0, pendingEvents: 0 } } as const

/** A user as the reads with WITHOUT_OUTBOX fetch it: the fields it leaves out are not there to read. */
export type StoredUser = Omit<UserDocument, keyof (typeof WITHOUT_OUTBOX)['projection']>

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
    ...newProfileDocument(input),
    createdAt,
    updatedAt,
    version: 1,
  }
}

/**
 * Maps a stored document to the API's User as it is at `now` (a disable that has run out reads as
 * active). Field by field: the password hash and the outbox's server-only fields (pendingEvents,
 * eventBase, outboxSince) never leave this function.
 */
export function toUser(doc: StoredUser, now: Date): User {
  return {
    id: doc._id.toHexString(),
    username: doc.username,
    email: doc.email,
    ...(doc.displayName !== undefined ? { displayName: doc.displayName } : {}),
    metadata: doc.metadata ?? {},
    role: doc.role,
    ...effectiveStatus(doc, now),
    hasPassword: typeof doc.passwordHash === 'string',
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
    version: doc.version,
    ...(doc.deletedAt ? { deletedAt: doc.deletedAt.toISOString() } : {}),
    ...(doc.deletedAt && doc.purgeAt ? { purgeAt: doc.purgeAt.toISOString() } : {}),
    ...toProfile(doc),
  }
}

/** The unique keys a change sets: lower-cased username and email, the exact externalId (`null` removes it). */
export function keysOf(changes: Pick<UserChanges, 'username' | 'email' | 'externalId'>): {
  usernameKey?: string
  emailKey?: string
  externalIdKey?: string | null
} {
  return {
    ...(changes.username !== undefined ? { usernameKey: changes.username.toLowerCase() } : {}),
    ...(changes.email !== undefined ? { emailKey: changes.email.toLowerCase() } : {}),
    ...(changes.externalId !== undefined ? { externalIdKey: changes.externalId } : {}),
  }
}

/**
 * The update that applies `changes`: their fields and keys (`null` removes a field), the time,
 * and the next version.
 */
export function toUpdate(changes: UserChanges, timestamp: Date): UpdateFilter<UserDocument> {
  const set: Record<string, unknown> = {}
  const unset: Record<string, ''> = {}
  for (const [field, value] of Object.entries({ ...changes, ...keysOf(changes) })) {
    if (value === null) unset[field] = ''
    else if (value !== undefined) set[field] = field === 'disabledUntil' ? new Date(value as string) : value
  }
  return {
    $set: { ...set, updatedAt: timestamp } as Partial<UserDocument>,
    $inc: { version: 1 },
    ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}),
  }
}
