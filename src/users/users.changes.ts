import { InvalidInputError } from '../errors'
import { type JsonObject, jsonEqual, METADATA_MAX_BYTES, mergePatch, metadataSize } from './users.metadata'
import type { ProfileChanges, UserChanges } from './users.model'
import type { User } from './users.schemas'
import type { UpdateInput } from './users.service'

/** Part of the users service's rules (only it imports this): what a patch changes. */

/** `passwordHash`: the new hash, or `null` to remove the password. */
type Patch = Omit<UpdateInput, 'password' | 'passwordHash'> & { passwordHash?: string | null | undefined }

/**
 * What applying a merge patch to `current` changes: only fields whose value really differs, so
 * sending what is already stored changes nothing (and does not bump the version). A new password
 * always counts as a change: hashes are salted, so "the same password" cannot be detected cheaply;
 * removing one is a change only for a user that has one (the service says which).
 * `current` is the user as it is now: a disable that has run out is already active.
 */
export function changesFor(current: User, patch: Patch): UserChanges {
  const changes: UserChanges = {}
  if (patch.username !== undefined && patch.username !== current.username) changes.username = patch.username
  if (patch.email !== undefined && patch.email !== current.email) changes.email = patch.email
  if (patch.displayName !== undefined && patch.displayName !== (current.displayName ?? null)) {
    changes.displayName = patch.displayName
  }
  if (patch.role !== undefined && patch.role !== current.role) changes.role = patch.role
  if (patch.passwordHash !== undefined) changes.passwordHash = patch.passwordHash
  if (patch.metadata !== undefined) {
    const merged = mergedMetadata(current, patch.metadata)
    if (merged) changes.metadata = merged
  }
  return { ...changes, ...profileChanges(current, patch), ...disableChanges(current, patch) }
}

/** The merge of a metadata patch with what is stored, or undefined when it changes nothing. */
function mergedMetadata(current: User, patch: JsonObject | null): JsonObject | undefined {
  // `"metadata": null` removes the member; its default is the empty object.
  const merged = patch === null ? {} : (mergePatch(current.metadata as JsonObject, patch) as JsonObject)
  if (jsonEqual(merged, current.metadata)) return undefined
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
  return merged
}

/**
 * The v1.1 profile fields a patch changes. A new email address is unverified unless the same
 * patch says otherwise (API.md v1.1); a change of case only is the same address and keeps it.
 */
function profileChanges(current: User, patch: Patch): ProfileChanges {
  const changes: ProfileChanges = {}
  for (const field of ['givenName', 'familyName', 'externalId'] as const) {
    const value = patch[field]
    if (value !== undefined && value !== (current[field] ?? null)) changes[field] = value
  }
  if (patch.emailVerified !== undefined && patch.emailVerified !== current.emailVerified) {
    changes.emailVerified = patch.emailVerified
  }
  const newAddress = patch.email !== undefined && patch.email.toLowerCase() !== current.email.toLowerCase()
  if (newAddress && patch.emailVerified === undefined && current.emailVerified) changes.emailVerified = false
  return changes
}

/**
 * The status and the disable's details a patch changes. `disabledUntil` and `disabledReason`
 * exist only while the user is disabled: sent for a user that is not (and is not being) disabled
 * they are refused, and every change of status clears what the patch does not set (a new disable
 * starts without the details of an old one that ran out).
 */
function disableChanges(current: User, patch: Patch): Pick<UserChanges, 'status' | 'disabledUntil' | 'disabledReason'> {
  const status = patch.status ?? current.status
  if (status === 'active') {
    refuseDetailsUnlessDisabled(patch)
    return current.status === 'active' ? {} : { status: 'active', disabledUntil: null, disabledReason: null }
  }
  if (current.status !== 'disabled') {
    return { status: 'disabled', disabledUntil: patch.disabledUntil ?? null, disabledReason: patch.disabledReason ?? null }
  }
  const changes: Pick<UserChanges, 'disabledUntil' | 'disabledReason'> = {}
  for (const field of ['disabledUntil', 'disabledReason'] as const) {
    const value = patch[field]
    if (value !== undefined && value !== (current[field] ?? null)) changes[field] = value
  }
  return changes
}

/** 400 for a disable's details on a user that stays (or becomes) active. */
export function refuseDetailsUnlessDisabled(input: { disabledUntil?: string | null; disabledReason?: string | null }): void {
  const sent = (['disabledUntil', 'disabledReason'] as const).filter(
    (field) => input[field] !== undefined && input[field] !== null,
  )
  const [first, ...rest] = sent.map((field) => ({
    field,
    code: 'requires_disabled',
    message: 'is allowed only while the user is disabled: send it with status "disabled"',
  }))
  if (first) throw new InvalidInputError('disabledUntil and disabledReason need status "disabled".', [first, ...rest])
}

/** 400 for a disable that would end before it starts. */
export function refusePastDisabledUntil(disabledUntil: string | null | undefined, now: Date): void {
  if (typeof disabledUntil !== 'string' || Date.parse(disabledUntil) > now.getTime()) return
  throw new InvalidInputError('disabledUntil must be in the future.', [
    { field: 'disabledUntil', code: 'not_in_future', message: `must be later than now (${now.toISOString()})` },
  ])
}
