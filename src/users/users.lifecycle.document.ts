import { z } from '@hono/zod-openapi'
import type { Filter, ObjectId } from '../db/driver'
import type { UserDocument } from './users.document'

/**
 * The stored shape of the lifecycle (issue 15): how a deleted and an erased user are kept, and the
 * filters that tell them apart. Storage only; the rules are in users.lifecycle.ts.
 *
 * - **Live**: no `deletedAt`. Every ordinary read and list sees only these.
 * - **Deleted**: `deletedAt` and `purgeAt` set, `usernameKey`/`emailKey` released (below), every
 *   other field kept for a restore. Read only with includeDeleted=true / deleted=true.
 * - **Erased**: a tombstone holding only ERASED_FIELDS, `erasedAt` set; every read is 404.
 * Deleted and erased users are deleted for good once `purgeAt` has passed (the sweeper, and every
 * read before it comes).
 */

/**
 * What `usernameKey` and `emailKey` hold once the user is deleted or erased: the unique keys are
 * released in the same write, so the name and the address are free at once. Not unset: on MongoDB
 * a non-sparse unique index counts a missing field as null, so two users without the key would
 * collide, and FerretDB v1 has no partial indexes to leave them out. Instead a value per document
 * (its id) that no real key can equal: a real key never contains a control character (usernames,
 * emails and their lower-case forms are validated so). Built from the id alone, so the delete
 * needs no read first.
 */
export const releasedKey = (id: ObjectId): string => `\u0000deleted:${id.toHexString()}`

/** The condition every ordinary read, list and write adds: the user is not deleted (nor erased). */
export const NOT_DELETED = { deletedAt: { $exists: false } } as const

/** Deleted users that can still be read and restored: not erased, not past `purgeAt`. */
export function deletedFilter(now: Date): Filter<UserDocument> {
  return { deletedAt: { $exists: true }, erasedAt: { $exists: false }, purgeAt: { $gt: now } }
}

/** Whether a stored document is a deleted user that can still be read and restored at `now`. */
export function isRestorable(doc: Pick<UserDocument, 'deletedAt' | 'erasedAt' | 'purgeAt'>, now: Date): boolean {
  return doc.deletedAt !== undefined && doc.erasedAt === undefined && (doc.purgeAt === undefined || doc.purgeAt > now)
}

/**
 * `q` over deleted users: their keys are released, so the prefix is matched on the stored username
 * and email, case-insensitively (not served by an index on MongoDB; deleted users are few and only
 * administrators list them). `q` holds only `[A-Za-z0-9._'+@-]`, escaped all the same.
 */
export function deletedPrefixFilter(q: string): Filter<UserDocument>[] {
  const prefix = new RegExp(`^${q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'i')
  return [{ username: prefix }, { email: prefix }]
}

/** A deleted user's username as a cursor key (`sort=username` over deleted users). */
export const DELETED_USERNAME_KEY = z.string().min(1).max(254)

/**
 * The only fields an erased user keeps: the id (so it is never reused, and every later read,
 * restore or erase of it is 404 until the purge), times, version, the state markers, the
 * released keys, and the outbox with ids, types and times only (the relay still publishes each
 * change, without its values). None of them is personal. The erase writes exactly these, replacing the whole
 * document, so every other field — today's and any added later — is gone in the same write.
 */
export const ERASED_FIELDS = [
  '_id',
  'usernameKey',
  'emailKey',
  'createdAt',
  'updatedAt',
  'version',
  'deletedAt',
  'erasedAt',
  'purgeAt',
  'pendingEvents',
  'eventBase',
  'outboxSince',
] as const satisfies readonly (keyof UserDocument)[]

export type ErasedDocument = Required<Pick<UserDocument, (typeof ERASED_FIELDS)[number]>>

/** The tombstone that replaces a user on erase: ERASED_FIELDS only. */
export function erasedDocument(
  doc: Pick<UserDocument, '_id' | 'createdAt' | 'version' | 'deletedAt' | 'purgeAt'>,
  at: Date,
  retentionMs: number,
): Omit<ErasedDocument, 'pendingEvents' | 'eventBase' | 'outboxSince'> {
  return {
    _id: doc._id,
    usernameKey: releasedKey(doc._id),
    emailKey: releasedKey(doc._id),
    createdAt: doc.createdAt,
    updatedAt: at,
    version: doc.version + 1,
    deletedAt: doc.deletedAt ?? at,
    erasedAt: at,
    // A deleted user keeps the purge it was promised; an active one gets the retention from now.
    purgeAt: doc.purgeAt ?? new Date(at.getTime() + retentionMs),
  }
}
