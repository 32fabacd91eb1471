import type { Precondition } from '../http/etag'
import type { CursorPosition } from './users.cursor'
import type { JsonObject } from './users.metadata'
import type { UserPatch } from './users.patch'
import type { ListUsersQuery, User } from './users.schemas'

/**
 * What the service needs from storage, in the API's own types (string ids, ISO dates). The app
 * depends on this interface only, so no driver type reaches its signatures or the client's
 * declarations; users.repository.ts implements it on MongoDB.
 */
export interface UsersRepository {
  /** Creates the indexes the repository relies on; idempotent, called at startup. */
  ensureIndexes(): Promise<void>
  create(user: NewUser): Promise<User>
  findById(id: string): Promise<User | null>
  findByUsername(username: string): Promise<User | null>
  findByEmail(email: string): Promise<User | null>
  /**
   * The user a login (username or email, any case) names, with the password hash: for checking
   * credentials only. The hash must never reach a response or a log.
   */
  findCredentials(login: string): Promise<{ user: User; passwordHash: string | undefined } | null>
  /** A page of users; `after` is the decoded cursor of the previous page. */
  list(query: ListUsersQuery, after?: CursorPosition): Promise<UserPage>
  /**
   * Applies a merge patch with optimistic concurrency. A patch of plain fields is one
   * `findOneAndUpdate` guarded by If-Match and by "some field differs" (one round trip). A metadata
   * merge or a password change reads first (the merge needs the stored value; the hash is computed
   * only once the user is known to exist and If-Match holds), then writes guarded by the version
   * read; a lost race is retried from a fresh read, which checks If-Match again.
   */
  update(
    id: string,
    patch: Omit<UserPatch, 'passwordHash'>,
    options?: { ifMatch?: Precondition; hashPassword?: () => Promise<string> },
  ): Promise<UpdateOutcome>
  delete(id: string, options?: { ifMatch?: Precondition }): Promise<DeleteOutcome>
}

export type NewUser = {
  username: string
  email: string
  displayName?: string
  metadata: JsonObject
  role: User['role']
  status: User['status']
  passwordHash?: string
}

export type UserPage = { items: User[]; nextCursor: string | null; total?: number }

export type UpdateOutcome =
  | { kind: 'updated' | 'unchanged'; user: User }
  | { kind: 'not_found' }
  | { kind: 'precondition_failed'; currentVersion: number }

export type DeleteOutcome = { kind: 'deleted' } | { kind: 'not_found' } | { kind: 'precondition_failed'; currentVersion: number }
