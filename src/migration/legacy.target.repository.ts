import type { DatabaseHandle } from '../db/calls'
import type { ImportOutcome } from '../users/users.model'
import type { ImportCandidate, UsersService } from '../users/users.service'
import type { SourcePosition } from './legacy.source.repository'

/**
 * Where the legacy import writes: users through the users service (stored exactly like
 * API-created users, unique indexes included, never overwriting one), and a checkpoint per
 * source in this module's own collection.
 */

export type { ImportCandidate, ImportOutcome }

export type ImportTarget = {
  /**
   * Stores what it can, in one round trip for the batch, hashing passwords only for users not
   * already there (`hashConcurrency` at a time); the outcome of each candidate, in order.
   */
  insert(candidates: ImportCandidate[], options?: { hashConcurrency?: number }): Promise<ImportOutcome[]>
  /** What `insert` would answer, read-only and without hashing (for --dry-run). */
  preview(candidates: ImportCandidate[]): Promise<ImportOutcome[]>
  loadCheckpoint(source: string): Promise<SourcePosition | undefined>
  saveCheckpoint(source: string, position: SourcePosition): Promise<void>
}

type CheckpointDocument = { _id: string; after: unknown; updatedAt: Date }

export function createImportTarget(
  users: Pick<UsersService, 'importUsers' | 'previewImport'>,
  database: DatabaseHandle,
  options: { clock?: () => Date } = {},
): ImportTarget {
  const checkpoints = database.db.collection<CheckpointDocument>('legacy_import_checkpoints')
  const now = options.clock ?? (() => new Date())
  return {
    insert: (candidates, insertOptions) => users.importUsers(candidates, insertOptions),
    preview: (candidates) => users.previewImport(candidates),
    async loadCheckpoint(source) {
      const checkpoint = await database.call((limit) => checkpoints.findOne({ _id: source }, limit))
      return checkpoint ? { raw: checkpoint.after } : undefined
    },
    async saveCheckpoint(source, position) {
      await database.call((limit) =>
        checkpoints.updateOne({ _id: source }, { $set: { after: position.raw, updatedAt: now() } }, { ...limit, upsert: true }),
      )
    },
  }
}
