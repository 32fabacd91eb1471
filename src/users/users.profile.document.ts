import type { UserDocument } from './users.document'
import type { NewUser } from './users.model'
import type { User } from './users.schemas'

/**
 * The v1.1 fields on the stored shape (users.document.ts maps the rest). `externalIdKey` carries
 * the unique index apart from the value, as usernameKey and emailKey do: exact (not lower-cased),
 * and absent when there is no externalId, which the sparse index skips, so any number of users
 * may have none. Keeping key and value apart lets a write release the key and keep the value.
 */
export type ProfileDocument = {
  emailVerified?: boolean
  lastSignInAt?: Date
  disabledUntil?: Date
  disabledReason?: string
  givenName?: string
  familyName?: string
  externalId?: string
  externalIdKey?: string
}

/** The v1.1 fields of a new user's document. */
export function newProfileDocument(input: NewUser): ProfileDocument {
  return {
    emailVerified: input.emailVerified ?? false,
    ...(input.givenName !== undefined ? { givenName: input.givenName } : {}),
    ...(input.familyName !== undefined ? { familyName: input.familyName } : {}),
    ...(input.externalId !== undefined ? { externalId: input.externalId, externalIdKey: input.externalId } : {}),
    ...(input.disabledUntil !== undefined ? { disabledUntil: new Date(input.disabledUntil) } : {}),
    ...(input.disabledReason !== undefined ? { disabledReason: input.disabledReason } : {}),
  }
}

/** The v1.1 fields of the API's User, but the disable's (effectiveStatus maps those). */
export function toProfile(
  doc: Pick<UserDocument, keyof ProfileDocument>,
): Pick<User, 'emailVerified' | 'lastSignInAt' | 'givenName' | 'familyName' | 'externalId'> {
  return {
    // Users stored before the field existed were never verified here.
    emailVerified: doc.emailVerified ?? false,
    ...(doc.lastSignInAt !== undefined ? { lastSignInAt: doc.lastSignInAt.toISOString() } : {}),
    ...(doc.givenName !== undefined ? { givenName: doc.givenName } : {}),
    ...(doc.familyName !== undefined ? { familyName: doc.familyName } : {}),
    ...(doc.externalId !== undefined ? { externalId: doc.externalId } : {}),
  }
}
