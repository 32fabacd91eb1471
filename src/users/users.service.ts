import {
  type Conflict,
  type Forbidden,
  forbidden,
  InvalidInputError,
  type NotFound,
  notFound,
  type PreconditionFailed,
  preconditionFailed,
  UnavailableError,
  type UserKey,
} from '../errors'
import type { PasswordHasher } from './passwords'
import { type JsonObject, jsonEqual, METADATA_MAX_BYTES, mergePatch, metadataSize } from './users.metadata'
import type { ImportOutcome, NewUser, UserChanges, UserPage, UsersRepository, WriteGuard } from './users.model'
import type { ListUsersQuery, User } from './users.schemas'

/**
 * Every rule about users, for every surface (/v1, the compatibility routes, the import, and the
 * surfaces to come): who may set what and touch whom, when a password is hashed, what counts as a
 * change, and what happens to versions. Surfaces translate their wire format into these calls
 * and the outcomes (src/errors.ts) back; storage (UsersRepository) does exactly the writes asked.
 */

/** What the caller may do beyond an ordinary write: `/v1` grants it with `users:admin`. */
export type Authority = { admin: boolean }

/** How a surface names the user it acts on. */
export type UserRef = { by: Extract<UserKey, 'id' | 'username'>; value: string }

/** If-Match: the user must exist (`any`) or be at one of these versions. */
export type VersionMatch = 'any' | readonly number[]

export type CreateInput = {
  username: string
  email: string
  displayName?: string
  password?: string
  metadata?: JsonObject
  role?: User['role']
  status?: User['status']
}

/** A merge patch: absent fields stay, `null` removes (displayName) or empties (metadata). */
export type UpdateInput = {
  username?: string
  email?: string
  displayName?: string | null
  password?: string
  metadata?: JsonObject | null
  role?: User['role']
  status?: User['status']
}

/** A user from another system, keeping its id and creation time; the password is hashed here. */
export type ImportCandidate = { id: string; createdAt: Date; user: Omit<NewUser, 'passwordHash'>; password?: string }

/** A write that succeeded; `unchanged` when the patch matched what was stored (same version). */
export type Updated = { kind: 'updated'; user: User } | { kind: 'unchanged'; user: User }

/** A user found by login, and the one way to check a password against it (the hash stays here). */
export type Login = { user: User; verify(password: string): Promise<boolean> }

/**
 * The users only an administrative caller may change or delete: any role other than `user`, and
 * anyone disabled (issue 13: a writer could otherwise take over an administrator by setting its
 * password or email, or undo a disable by deleting and re-creating the user). Non-administrative
 * writes carry this as a guard in the write's own filter, so no race can slip one past it.
 */
const ORDINARY = { role: 'user', status: 'active' } as const
const isOrdinary = (user: User) => user.role === ORDINARY.role && user.status === ORDINARY.status

/** Bounds the rounds of a write that keeps losing races before answering 503. */
const MAX_ATTEMPTS = 50
const busy = () => new UnavailableError('The user is being changed by many requests at once; retry shortly.', 1)

export type UsersService = ReturnType<typeof createUsersService>

export function createUsersService({ users, passwords }: { users: UsersRepository; passwords: PasswordHasher }) {
  // Checking a password for an unknown login against a real hash of the same cost makes it take
  // as long as a wrong password. Made once, on first use.
  let dummyHash: Promise<string> | undefined

  async function find(ref: UserRef): Promise<User | NotFound> {
    const user = ref.by === 'id' ? await users.findById(ref.value) : await users.findByUsername(ref.value)
    return user ?? notFound(ref.by, ref.value)
  }

  /** The id a write acts on: the ref's own, or the one its username names now. */
  async function idOf(ref: UserRef): Promise<string | NotFound> {
    if (ref.by === 'id') return ref.value
    const user = await find(ref)
    return 'kind' in user ? user : user.id
  }

  /** The guard of a write: If-Match's versions, and ordinary users only without authority. */
  const guardOf = (authority: Authority, ifMatch?: VersionMatch): WriteGuard => ({
    ...(ifMatch && ifMatch !== 'any' ? { versions: ifMatch } : {}),
    ...(authority.admin ? {} : ORDINARY),
  })

  /** Why a write on `current` may not happen, in the order callers are told: authority, then If-Match. */
  const refusal = (current: User, authority: Authority, ifMatch?: VersionMatch): Forbidden | PreconditionFailed | null => {
    if (!authority.admin && !isOrdinary(current)) return forbidden('privileged_target')
    if (ifMatch && ifMatch !== 'any' && !ifMatch.includes(current.version)) return preconditionFailed(current.version)
    return null
  }

  async function create(
    input: CreateInput,
    authority: Authority,
  ): Promise<{ kind: 'created'; user: User } | Forbidden | Conflict> {
    const { password, ...fields } = input
    const role = fields.role ?? 'user'
    const status = fields.status ?? 'active'
    if (!authority.admin && (role !== ORDINARY.role || status !== ORDINARY.status)) return forbidden('create_privileged')
    // Hashing is the slow part (about 100 ms of CPU): a taken username or email is refused before
    // it, in the common case. The unique indexes still decide a race between two creates.
    if (password !== undefined) {
      const taken = await users.findTaken({ username: fields.username, email: fields.email })
      if (taken) return taken
    }
    const written = await users.create({
      ...fields,
      metadata: fields.metadata ?? {},
      role,
      status,
      ...(password !== undefined ? { passwordHash: await passwords.hash(password) } : {}),
    })
    return written.kind === 'written' ? { kind: 'created', user: written.user } : written
  }

  /**
   * Applies a merge patch with optimistic concurrency. A patch of plain fields is one guarded
   * write (one round trip); when it writes nothing, or for a metadata merge or a password, the
   * user is read, the rules are checked against it, and the change is written at the version
   * read; a lost race goes round again from a fresh read, which checks everything again.
   */
  async function update(
    ref: UserRef,
    input: UpdateInput,
    options: { authority: Authority; ifMatch?: VersionMatch },
  ): Promise<Updated | NotFound | Forbidden | PreconditionFailed | Conflict> {
    const { authority, ifMatch } = options
    const { password, metadata, ...fields } = input
    // Any role or status in a patch needs authority, even one equal to what is stored: deciding
    // "no change" would need a read, and the answer would tell the caller what is stored.
    if (!authority.admin && (fields.role !== undefined || fields.status !== undefined)) return forbidden('set_privileged_fields')
    const id = await idOf(ref)
    if (typeof id !== 'string') return id
    if (metadata === undefined && password === undefined) {
      const written = await users.updateInPlace(id, fields, guardOf(authority, ifMatch))
      if (written.kind === 'written') return { kind: 'updated', user: written.user }
      if (written.kind === 'conflict') return written
      // Nothing written: the user is missing, refused, unchanged, or a race. The read below says which.
    }
    // Hashed once the user is known to exist and may be changed, and once however many rounds.
    let hashing: Promise<string> | undefined
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const current = await users.findById(id)
      if (!current) return notFound(ref.by, ref.value)
      const refused = refusal(current, authority, ifMatch)
      if (refused) return refused
      if (password !== undefined && hashing === undefined) {
        const taken = await users.findTaken({ username: fields.username, email: fields.email }, id)
        if (taken) return taken
      }
      if (password !== undefined) hashing ??= passwords.hash(password)
      const passwordHash = hashing && (await hashing)
      const changes = changesFor(current, { ...fields, metadata, passwordHash })
      if (Object.keys(changes).length === 0) return { kind: 'unchanged', user: current }
      const written = await users.updateAtVersion(id, current.version, changes)
      if (written.kind === 'written') return { kind: 'updated', user: written.user }
      if (written.kind === 'conflict') return written
    }
    throw busy()
  }

  async function remove(
    ref: UserRef,
    options: { authority: Authority; ifMatch?: VersionMatch },
  ): Promise<{ kind: 'deleted'; id: string } | NotFound | Forbidden | PreconditionFailed> {
    const id = await idOf(ref)
    if (typeof id !== 'string') return id
    const guard = guardOf(options.authority, options.ifMatch)
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      if (await users.delete(id, guard)) return { kind: 'deleted', id }
      // Nothing guarded the delete, so nothing is there: no read needed to say so.
      if (Object.keys(guard).length === 0) return notFound(ref.by, ref.value)
      const current = await users.findById(id)
      if (!current) return notFound(ref.by, ref.value)
      const refused = refusal(current, options.authority, options.ifMatch)
      if (refused) return refused
      // It meets the guard now: it changed between the delete and the read. Again.
    }
    throw busy()
  }

  async function findLogin(login: string): Promise<Login | null> {
    const found = await users.findCredentials(login)
    if (!found) return null
    const { user, passwordHash } = found
    // No password set: checked against the dummy anyway, so every failure costs the same.
    return { user, verify: async (password) => (await checkPassword(password, passwordHash)) && passwordHash !== undefined }
  }

  async function checkPassword(password: string, hash: string | undefined): Promise<boolean> {
    dummyHash ??= passwords.hash(crypto.randomUUID())
    return passwords.verify(password, hash ?? (await dummyHash))
  }

  /**
   * Stores imported users, never overwriting one. A user already there (a --restart, or the batch
   * a crash interrupted) is recognised first, by a point read on its id, so its password is not
   * hashed again for nothing (100 ms each); the rest are hashed `hashConcurrency` at a time.
   */
  async function importUsers(candidates: ImportCandidate[], options: { hashConcurrency?: number } = {}) {
    const prepared = await mapConcurrently(candidates, options.hashConcurrency ?? 1, async ({ password, ...candidate }) => {
      if (password === undefined) return candidate
      if (await users.exists(candidate.id)) return 'already_imported' as const
      return { ...candidate, user: { ...candidate.user, passwordHash: await passwords.hash(password) } }
    })
    const pending = prepared.filter((candidate) => candidate !== 'already_imported')
    const written = await users.insertImported(pending)
    if (written.length !== pending.length) throw new Error('the store answered for a different number of users')
    let next = 0
    return prepared.map((candidate): ImportOutcome => {
      if (candidate === 'already_imported') return { kind: 'already_imported' }
      return written[next++] as ImportOutcome
    })
  }

  return {
    get: find,
    findByEmail: async (email: string): Promise<User | NotFound> => (await users.findByEmail(email)) ?? notFound('email', email),
    /** A page of users; a cursor not issued for the same filters and sort throws InvalidInputError. */
    list: (query: ListUsersQuery): Promise<UserPage> => users.list(query),
    create,
    update,
    delete: remove,
    findLogin,
    /** For a login that names nobody: as slow as a wrong password, and always false. */
    async rejectUnknownLogin(password: string): Promise<false> {
      await checkPassword(password, undefined)
      return false
    },
    importUsers,
    /** What importUsers would answer, read-only and without hashing. */
    previewImport: (candidates: ImportCandidate[]) =>
      users.previewImported(candidates.map(({ password: _password, ...candidate }) => candidate)),
  }
}

/**
 * What applying a merge patch to `current` changes: only fields whose value really differs, so
 * sending what is already stored changes nothing (and does not bump the version). A new password
 * always counts as a change: hashes are salted, so "the same password" cannot be detected cheaply.
 */
function changesFor(current: User, patch: Omit<UpdateInput, 'password'> & { passwordHash?: string | undefined }): UserChanges {
  const changes: UserChanges = {}
  if (patch.username !== undefined && patch.username !== current.username) changes.username = patch.username
  if (patch.email !== undefined && patch.email !== current.email) changes.email = patch.email
  if (patch.displayName !== undefined && patch.displayName !== (current.displayName ?? null)) {
    changes.displayName = patch.displayName
  }
  if (patch.role !== undefined && patch.role !== current.role) changes.role = patch.role
  if (patch.status !== undefined && patch.status !== current.status) changes.status = patch.status
  if (patch.passwordHash !== undefined) changes.passwordHash = patch.passwordHash
  if (patch.metadata !== undefined) {
    // `"metadata": null` removes the member; its default is the empty object.
    const merged = patch.metadata === null ? {} : (mergePatch(current.metadata as JsonObject, patch.metadata) as JsonObject)
    if (!jsonEqual(merged, current.metadata)) {
      // Each patch is within the limits; their merge with what is stored may not be.
      if (metadataSize(merged) > METADATA_MAX_BYTES) {
        throw new InvalidInputError('The merged metadata would exceed the size limit.', [
          {
            field: 'metadata',
            code: 'too_big',
            message: `metadata merged with the stored value may be at most ${METADATA_MAX_BYTES} bytes as JSON`,
          },
        ])
      }
      changes.metadata = merged
    }
  }
  return changes
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapConcurrently<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await fn(items[index] as T)
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  return results
}
