import { type FieldProblem, mapSeedUser } from './legacy.mapping'
import { createProgress, formatCount, formatDuration, formatTable, type ProgressStream } from './legacy.progress'
import type { LegacySource, SourceDocument } from './legacy.source.repository'
import type { ImportCandidate, ImportTarget } from './legacy.target.repository'

/**
 * Copies the Flask service's users into this service, never overwriting anything:
 *
 * 1. A check pass reads the whole source (passwords are not hashed there) and decides, for every
 *    normalized username and email, which seed document owns it: the first valid one in `_id`
 *    order (MongoEngine's ObjectIds grow with creation time, so the oldest account wins). Deciding
 *    this over the whole collection, not batch by batch, keeps the answer the same on a resumed run.
 * 2. The import pass reads the source in `_id` order from the checkpoint on, maps each document
 *    with the API's own schemas, hands the batch to the users service (which hashes the passwords,
 *    argon2id, a few at a time, and inserts it) and only then moves the checkpoint past it. A crash between the insert and the checkpoint is
 *    harmless: the next run meets the same ids and counts them as already imported.
 *
 * Everything skipped goes to the report, one JSON line each, never with a password in it.
 */

export type SkipReason =
  | 'invalid_document'
  | 'duplicate_username_in_source'
  | 'duplicate_email_in_source'
  | 'username_taken'
  | 'email_taken'

const SKIP_REASONS: readonly SkipReason[] = [
  'invalid_document',
  'duplicate_username_in_source',
  'duplicate_email_in_source',
  'username_taken',
  'email_taken',
]

/** One line of the report. `otherId` is a seed id for duplicates in the source, a target user id for `*_taken`. */
export type ReportEntry = { sourceId: string; reason: SkipReason; otherId?: string; problems?: FieldProblem[] }

export type ImportOptions = {
  dryRun: boolean
  /** Ignore the checkpoint and read the source from the start (users already imported are recognised). */
  restart: boolean
  batchSize: number
  /** Passwords hashed at once; each argon2id hash holds 64 MiB and one core for about 100 ms. */
  hashConcurrency: number
}

export type ImportDeps = {
  source: Pick<LegacySource, 'name' | 'count' | 'batches'>
  target: ImportTarget
  /** Receives each batch's report lines before the checkpoint moves past the batch. */
  report: (entries: ReportEntry[]) => Promise<void>
  progress: ProgressStream
  now?: () => number
}

export type ImportSummary = {
  source: string
  dryRun: boolean
  resumed: boolean
  read: number
  imported: number
  alreadyImported: number
  withPassword: number
  skipped: Record<SkipReason, number>
  durationMs: number
}

export async function importLegacyUsers(deps: ImportDeps, options: ImportOptions): Promise<ImportSummary> {
  const now = deps.now ?? (() => performance.now())
  const { source, target } = deps
  // The duration covers both passes: it is what an operator waits for.
  const started = now()
  const total = await source.count()
  const owners = await findOwners(deps, options.batchSize, total)

  const after = options.restart ? undefined : await target.loadCheckpoint(source.name)
  const summary: ImportSummary = {
    source: source.name,
    dryRun: options.dryRun,
    resumed: after !== undefined,
    read: 0,
    imported: 0,
    alreadyImported: 0,
    withPassword: 0,
    skipped: Object.fromEntries(SKIP_REASONS.map((reason) => [reason, 0])) as Record<SkipReason, number>,
    durationMs: 0,
  }
  const remaining = after ? await source.count(after) : total
  const progress = createProgress(options.dryRun ? 'dry run' : 'import', remaining, deps.progress, { now })
  for await (const batch of source.batches({ batchSize: options.batchSize, ...(after ? { after } : {}) })) {
    const entries: ReportEntry[] = []
    const skip = (entry: ReportEntry) => {
      entries.push(entry)
      summary.skipped[entry.reason]++
    }
    const accepted: { doc: SourceDocument; candidate: ImportCandidate }[] = []
    for (const doc of batch) {
      const mapped = mapSeedUser(doc.fields)
      if (!mapped.ok) {
        skip({ sourceId: doc.sourceId, reason: 'invalid_document', problems: mapped.problems })
        continue
      }
      const duplicate = owners.duplicateOf(doc.sourceId, mapped.user)
      if (duplicate) {
        skip({ sourceId: doc.sourceId, ...duplicate })
        continue
      }
      accepted.push({
        doc,
        candidate: {
          id: doc.targetId,
          createdAt: doc.createdAt ?? new Date(),
          user: { ...mapped.user, metadata: {} },
          ...(mapped.password !== undefined ? { password: mapped.password } : {}),
        },
      })
    }
    const candidates = accepted.map(({ candidate }) => candidate)
    // A dry run hashes nothing: it would cost the most time and decide nothing.
    const written = options.dryRun
      ? await target.preview(candidates)
      : await target.insert(candidates, { hashConcurrency: options.hashConcurrency })
    if (written.length !== accepted.length) throw new Error('the target answered for a different number of users')
    for (const [index, { doc, candidate }] of accepted.entries()) {
      const outcome = written[index]
      if (!outcome) continue
      if (outcome.kind === 'conflict') {
        skip({ sourceId: doc.sourceId, reason: `${outcome.field}_taken`, otherId: outcome.otherId })
      } else if (outcome.kind === 'already_imported') {
        summary.alreadyImported++
      } else {
        summary.imported++
        if (candidate.password !== undefined) summary.withPassword++
      }
    }
    await deps.report(entries)
    const last = batch.at(-1)
    if (!options.dryRun && last) await target.saveCheckpoint(source.name, last.position)
    summary.read += batch.length
    progress.tick(batch.length)
  }
  progress.finish()
  summary.durationMs = now() - started
  return summary
}

/** Which seed document owns each normalized username and email: the first valid one in `_id` order. */
async function findOwners(deps: ImportDeps, batchSize: number, total: number) {
  const usernames = new Map<string, string>()
  const emails = new Map<string, string>()
  const progress = createProgress('check', total, deps.progress, deps.now ? { now: deps.now } : {})
  for await (const batch of deps.source.batches({ batchSize })) {
    for (const doc of batch) {
      const mapped = mapSeedUser(doc.fields)
      if (!mapped.ok) continue
      const usernameKey = mapped.user.username.toLowerCase()
      const emailKey = mapped.user.email.toLowerCase()
      if (!usernames.has(usernameKey)) usernames.set(usernameKey, doc.sourceId)
      if (!emails.has(emailKey)) emails.set(emailKey, doc.sourceId)
    }
    progress.tick(batch.length)
  }
  progress.finish()
  return {
    /** The duplicate this document is, if another seed document owns its username or email. */
    duplicateOf(sourceId: string, user: { username: string; email: string }): Omit<ReportEntry, 'sourceId'> | undefined {
      // A document added to the source after the check pass owns whatever nobody owned yet.
      const usernameOwner = claim(usernames, user.username.toLowerCase(), sourceId)
      if (usernameOwner !== sourceId) return { reason: 'duplicate_username_in_source', otherId: usernameOwner }
      const emailOwner = claim(emails, user.email.toLowerCase(), sourceId)
      if (emailOwner !== sourceId) return { reason: 'duplicate_email_in_source', otherId: emailOwner }
      return undefined
    },
  }
}

function claim(owners: Map<string, string>, key: string, sourceId: string): string {
  const owner = owners.get(key)
  if (owner !== undefined) return owner
  owners.set(key, sourceId)
  return sourceId
}

/** The summary table printed at the end of a run. */
export function formatSummary(summary: ImportSummary): string {
  const seconds = summary.durationMs / 1000
  const verb = summary.dryRun ? 'would be imported' : 'imported'
  const rows: [string, string][] = [
    ['read', formatCount(summary.read)],
    [verb, formatCount(summary.imported)],
    ['  of which with a password', formatCount(summary.withPassword)],
    ['already imported (left as they are)', formatCount(summary.alreadyImported)],
    ...SKIP_REASONS.map((reason): [string, string] => [`skipped: ${reason}`, formatCount(summary.skipped[reason])]),
    ['duration', formatDuration(summary.durationMs)],
    ['users/s', seconds > 0 ? formatCount(Math.round(summary.read / seconds)) : '-'],
  ]
  const title = `${summary.dryRun ? 'Dry run' : 'Import'} from ${summary.source}${summary.resumed ? ' (resumed from checkpoint)' : ''}`
  return formatTable(title, rows)
}

export function skippedCount(summary: ImportSummary): number {
  return SKIP_REASONS.reduce((sum, reason) => sum + summary.skipped[reason], 0)
}
