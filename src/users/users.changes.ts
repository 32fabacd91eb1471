import { InvalidInputError } from '../errors'
import { type JsonObject, jsonEqual, METADATA_MAX_BYTES, mergePatch, metadataSize } from './users.metadata'
import type { UserChanges } from './users.model'
import type { User } from './users.schemas'
import type { UpdateInput } from './users.service'

/** Part of the users service's rules (only it imports this): what a patch changes. */

/**
 * What applying a merge patch to `current` changes: only fields whose value really differs, so
 * sending what is already stored changes nothing (and does not bump the version). A new password
 * always counts as a change: hashes are salted, so "the same password" cannot be detected cheaply.
 */
export function changesFor(
  current: User,
  patch: Omit<UpdateInput, 'password'> & { passwordHash?: string | undefined },
): UserChanges {
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
