import {
  type Conflict,
  type Forbidden,
  forbidden,
  type NotFound,
  notFound,
  type PreconditionFailed,
  UnavailableError,
  type UserKey,
  unmatched,
  type VersionMatch,
} from '../errors'
import type { PasswordHasher } from './passwords'
import { changesFor, refuseDetailsUnlessDisabled, refusePastDisabledUntil } from './users.changes'
import { createLifecycle, DEFAULT_LIFECYCLE, type LifecycleOptions } from './users.lifecycle'
import type { JsonObject } from './users.metadata'
import type {
  ImportOutcome,
  NewProfile,
  NewUser,
  PlainChanges,
  ProfileChanges,
  UserPage,
  UsersRepository,
  WriteGuard,
} from './users.model'
import type { ListUsersQuery, User } from './users.schemas'
import { createSignIn } from './users.signin'

export type { Login } from './users.signin'

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

/** `passwordHash`: another system's hash (passwords.formats.ts), stored as is instead of hashing `password`. */
export type CreateInput = {
  username: string
  email: string
  displayName?: string
  password?: string
  passwordHash?: string
  metadata?: JsonObject
  role?: User['role']
  status?: User['status']
} & NewProfile

/**
 * A merge patch: absent fields stay, `null` removes (displayName, the v1.1 fields, the password) or
 * empties (metadata). A user without a password signs in through its identity provider only (SCIM's
 * `remove` of `password`); /v1 never sends `password: null`.
 */
export type UpdateInput = {
  username?: string
  email?: string
  displayName?: string | null
  password?: string | null
  passwordHash?: string
  metadata?: JsonObject | null
  role?: User['role']
  status?: User['status']
} & ProfileChanges

/** A user from another system, keeping its id and creation time; the password is hashed here. */
export type ImportCandidate = { id: string; createdAt: Date; user: Omit<NewUser, 'passwordHash'>; password?: string }

/** A write that succeeded; `unchanged` when the patch matched what was stored (same version). */
export type Updated = { kind: 'updated'; user: User } | { kind: 'unchanged'; user: User }

/**
 * The users only an administrative caller may change or delete: any role other than `user`, and
 * anyone disabled (issue 13: a writer could otherwise take over an administrator by setting its
 * password or email, or undo a disable by deleting and re-creating the user). Non-administrative
 * writes carry this as a guard in the write's own filter, so no race can slip one past it.
 */
const ORDINARY = { role: 'user', status: 'active' } as const
const isOrdinary = (user: User) => user.role === ORDINARY.role && user.status === ORDINARY.status

/** Fields only an administrative caller may send: who a user is allowed to be, and hashes made elsewhere. */
const ADMIN_FIELDS = ['role', 'status', 'disabledUntil', 'disabledReason', 'passwordHash'] as const
const setsAdminFields = (input: UpdateInput) => ADMIN_FIELDS.some((field) => input[field] !== undefined)

/** Bounds the rounds of a write that keeps losing races before answering 503. */
const MAX_ATTEMPTS = 50
const busy = () => new UnavailableError('The user is being changed by many requests at once; retry shortly.', 1)

export type UsersService = ReturnType<typeof createUsersService>

type Deps = { users: UsersRepository; passwords: PasswordHasher; now: () => Date }

/**
 * The service on a repository and a hasher; every surface gets the same one (app.ts builds it).
 * `clock` is the time expiry is judged by (tests pass their own; the repository takes the same);
 * `lifecycle` the retention of deleted users and the stores an erase must scrub.
 */
export function createUsersService(options: {
  users: UsersRepository
  passwords: PasswordHasher
  clock?: () => Date
  lifecycle?: LifecycleOptions
}) {
  const deps: Deps = { users: options.users, passwords: options.passwords, now: options.clock ?? (() => new Date()) }
  // Delete, restore, erase and the reads of deleted users (users.lifecycle.ts), with the rules below.
  const lifecycle = createLifecycle(deps.users, options.lifecycle ?? DEFAULT_LIFECYCLE, {
    idOf: (ref) => idOf(deps, ref),
    guardOf,
    refusal,
  })
  return {
    ...lifecycle,
    get: (ref: UserRef) => find(deps, ref),
    findByEmail: async (email: string): Promise<User | NotFound> =>
      (await deps.users.findByEmail(email)) ?? notFound('email', email),
    /** A page of live users; a cursor not issued for the same filters and sort throws InvalidInputError. */
    list: (query: ListUsersQuery): Promise<UserPage> => deps.users.list({ ...query, deleted: false }),
    /**
     * Live users matching one query a surface writes from the storage's terms (SCIM's filters:
     * src/scim/scim.query.ts), oldest first, a window of them and the total.
     */
    findByQuery: ((build, page) => deps.users.findByQuery(build, page)) satisfies UsersRepository['findByQuery'],
    create: (input: CreateInput, authority: Authority) => create(deps, input, authority),
    update: (ref: UserRef, input: UpdateInput, options: WriteOptions) => update(deps, ref, input, options),
    ...createSignIn(deps),
    importUsers: (candidates: ImportCandidate[], options: { hashConcurrency?: number } = {}) =>
      importUsers(deps, candidates, options),
    /** What importUsers would answer, read-only and without hashing. */
    previewImport: (candidates: ImportCandidate[]) =>
      deps.users.previewImported(candidates.map(({ password: _password, ...candidate }) => candidate)),
  }
}

/** How a write is made: with the caller's authority, and If-Match when the surface has one. */
export type WriteOptions = { authority: Authority; ifMatch?: VersionMatch }

async function find({ users }: Deps, ref: UserRef): Promise<User | NotFound> {
  const user = ref.by === 'id' ? await users.findById(ref.value) : await users.findByUsername(ref.value)
  return user ?? notFound(ref.by, ref.value)
}

/** The id a write acts on: the ref's own, or the one its username names now. */
async function idOf(deps: Deps, ref: UserRef): Promise<string | NotFound> {
  if (ref.by === 'id') return ref.value
  const user = await find(deps, ref)
  return 'kind' in user ? user : user.id
}

/** The guard of a write: If-Match's versions, ordinary users only without authority, a username still held. */
const guardOf = ({ authority, ifMatch }: WriteOptions, ref: UserRef): WriteGuard => ({
  ...(ifMatch && ifMatch !== 'any' ? { versions: ifMatch } : {}),
  ...(authority.admin ? {} : ORDINARY),
  ...(ref.by === 'username' ? { username: ref.value } : {}),
})

/** Why a write on `current` may not happen, in the order callers are told: authority, then If-Match. */
function refusal(current: User, { authority, ifMatch }: WriteOptions): Forbidden | PreconditionFailed | null {
  if (!authority.admin && !isOrdinary(current)) return forbidden('privileged_target')
  return unmatched(ifMatch, current.version)
}

async function create(
  { users, passwords, now }: Deps,
  input: CreateInput,
  authority: Authority,
): Promise<{ kind: 'created'; user: User } | Forbidden | Conflict> {
  const { password, passwordHash, ...fields } = input
  const role = fields.role ?? 'user'
  const status = fields.status ?? 'active'
  if (!authority.admin && (role !== ORDINARY.role || status !== ORDINARY.status)) return forbidden('create_privileged')
  if (!authority.admin && passwordHash !== undefined) return forbidden('set_privileged_fields')
  if (status !== 'disabled') refuseDetailsUnlessDisabled(fields)
  refusePastDisabledUntil(fields.disabledUntil, now())
  // Hashing is the slow part (about 100 ms of CPU): a taken username or email is refused before
  // it, in the common case. The unique indexes still decide a race between two creates.
  if (password !== undefined) {
    const taken = await users.findTaken({ username: fields.username, email: fields.email, externalId: fields.externalId })
    if (taken) return taken
  }
  const hash = passwordHash ?? (password !== undefined ? await passwords.hash(password) : undefined)
  const written = await users.create({
    ...fields,
    metadata: fields.metadata ?? {},
    role,
    status,
    ...(hash !== undefined ? { passwordHash: hash } : {}),
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
  deps: Deps,
  ref: UserRef,
  input: UpdateInput,
  options: WriteOptions,
): Promise<Updated | NotFound | Forbidden | PreconditionFailed | Conflict> {
  const { users, passwords } = deps
  const { password, passwordHash, metadata, ...fields } = input
  // Any role or status in a patch needs authority, even one equal to what is stored: deciding
  // "no change" would need a read, and the answer would tell the caller what is stored.
  if (!options.authority.admin && setsAdminFields(input)) return forbidden('set_privileged_fields')
  refusePastDisabledUntil(fields.disabledUntil, deps.now())
  const id = await idOf(deps, ref)
  if (typeof id !== 'string') return id
  if (metadata === undefined && password === undefined && passwordHash === undefined && writableInPlace(fields)) {
    // A change of status clears the disable's details; alone in the patch, it is written only when the status changes.
    const alongside: PlainChanges = fields.status !== undefined ? { disabledUntil: null, disabledReason: null } : {}
    const written = await users.updateInPlace(id, fields, guardOf(options, ref), alongside)
    if (written.kind === 'written') return { kind: 'updated', user: written.user }
    if (written.kind === 'conflict') return written
    // Nothing written: the user is missing, refused, unchanged, or a race. The read below says which.
  }
  // Hashed once the user is known to exist and may be changed, and once however many rounds.
  let hashing: Promise<string> | undefined
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    // As the ref names it now: a rename moves the version, so the write below misses and reads again.
    const current = await find(deps, ref)
    if ('kind' in current) return current
    const refused = refusal(current, options)
    if (refused) return refused
    if (typeof password === 'string' && hashing === undefined) {
      const { username, email, externalId } = fields
      const taken = await users.findTaken({ username, email, ...(externalId ? { externalId } : {}) }, current.id)
      if (taken) return taken
    }
    if (typeof password === 'string') hashing ??= passwords.hash(password)
    // Removing a password the user does not have changes nothing.
    const removed = password === null && current.hasPassword ? null : undefined
    const hash = passwordHash ?? (hashing && (await hashing)) ?? removed
    const changes = changesFor(current, { ...fields, metadata, passwordHash: hash })
    if (Object.keys(changes).length === 0) return { kind: 'unchanged', user: current }
    const written = await users.updateAtVersion(current.id, current.version, changes)
    if (written.kind === 'written') return { kind: 'updated', user: written.user }
    if (written.kind === 'conflict') return written
  }
  throw busy()
}

/**
 * Whether a patch of plain fields can be one guarded write, decided without the stored user: not
 * when the disable's details depend on the stored status, when a new email may reset
 * emailVerified (only a change of address does, not of case), or when a status comes with other
 * fields (its clearing of the disable's details must follow a real change of status).
 */
function writableInPlace(fields: Omit<UpdateInput, 'password' | 'passwordHash' | 'metadata'>): boolean {
  if (fields.disabledUntil !== undefined || fields.disabledReason !== undefined) return false
  if (fields.email !== undefined && fields.emailVerified === undefined) return false
  return fields.status === undefined || Object.keys(fields).length === 1
}

/**
 * Stores imported users, never overwriting one. A user already there (a --restart, or the batch
 * a crash interrupted) is recognised first, by a point read on its id, so its password is not
 * hashed again for nothing (100 ms each); the rest are hashed `hashConcurrency` at a time.
 */
async function importUsers(
  { users, passwords }: Deps,
  candidates: ImportCandidate[],
  options: { hashConcurrency?: number },
): Promise<ImportOutcome[]> {
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
