/**
 * `bun run import:seed --from mongodb://host:27017/<db>/<collection>`: imports the Flask service's
 * users into this service's database (MONGODB_URI / MONGODB_DB, as the service reads them).
 * Exit codes: 0 done, nothing skipped (or --allow-skips); 1 something was skipped; 2 bad usage
 * (credentials the source refuses too);
 * 3 the import failed, at the start or part-way (a database that does not answer...): run it again to resume.
 * See docs/migration.md. It lives in src/ so the container image has it:
 * the import runs best where both databases are reachable, which is where the service runs.
 */
import { appendFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { type Config, ConfigError, loadToolConfig } from '../config'
import { connectDatabase } from '../db/mongo'
import { errorText } from '../redaction'
import { createStores } from '../stores'
import { createBunPasswordHasher } from '../users/passwords.bun'
import { createUsersService } from '../users/users.service'
import { formatSummary, importLegacyUsers, skippedCount } from './legacy.import'
import { type LegacySource, openLegacySource, SourceUnreachableError } from './legacy.source.repository'
import { createImportTarget } from './legacy.target.repository'

const USAGE = `usage: bun run --silent import:seed --from mongodb://host:27017/<db>/<collection> [options]
  --report <file>          JSON lines of what was skipped, appended (default: legacy-import-report-<time>.jsonl)
  --dry-run                read and check everything, write nothing but the report
  --allow-skips            exit 0 even when documents were skipped
  --restart                ignore the checkpoint and read the source from the start
  --batch-size <n>         documents per batch (default 500)
  --hash-concurrency <n>   passwords hashed at once (default: PASSWORD_HASH_CONCURRENCY, or the
                           cores seen, 4 at most: each hash holds 64 MiB)
The target is MONGODB_URI / MONGODB_DB, as for the service.`

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`)
  process.exit(2)
}

type Args = ReturnType<typeof parseCommandLine>

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        from: { type: 'string' },
        report: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        'allow-skips': { type: 'boolean', default: false },
        restart: { type: 'boolean', default: false },
        'batch-size': { type: 'string', default: '500' },
        'hash-concurrency': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values
  } catch (error) {
    fail((error as Error).message)
  }
}

function positive(name: string, text: string, max: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`--${name} must be an integer from 1 to ${max}`)
  return n
}

/** Only the database settings matter here (see loadToolConfig). */
function toolConfig(): Config {
  try {
    return loadToolConfig()
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message)
    throw error
  }
}

async function main() {
  const args = parseCommandLine()
  if (args.help) {
    console.log(USAGE)
    process.exit(0)
  }
  if (!args.from) fail('--from is required')
  const batchSize = positive('batch-size', args['batch-size'], 10_000)
  const config = toolConfig()
  // The service's own default (config.ts): a pod sees the node's cores, and each hash holds 64 MiB.
  const given = args['hash-concurrency']
  const hashConcurrency = given === undefined ? config.passwordHashing.concurrency : positive('hash-concurrency', given, 64)
  // The embedded database belongs to one running service: importing into a second copy of it would
  // be lost. Point MONGODB_URI at the database the service uses (`bun run db` prints the embedded one's).
  if (!config.mongodbUri) fail('MONGODB_URI must name the target database')
  const reportPath = args.report ?? `legacy-import-report-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`
  let source: LegacySource
  try {
    source = await openLegacySource(args.from)
  } catch (error) {
    if (!(error instanceof SourceUnreachableError)) fail(`cannot open the source: ${errorText(error)}`)
    // Not a usage error: the command line is right, the source did not answer.
    console.error(
      `cannot open the source: ${errorText(error.cause)}\nNothing was read or written; run the same command again once it answers.`,
    )
    process.exit(3)
  }
  try {
    await run(source, { args, config, targetUri: config.mongodbUri, reportPath, batchSize, hashConcurrency })
  } catch (error) {
    // The message only, scrubbed: a driver error object can carry whole documents (password hashes
    // included), and a duplicate-key message names the value.
    console.error(
      `import failed: ${errorText(error)}\n` +
        'What was written is kept; run the same command again to resume from the checkpoint.',
    )
    process.exitCode = 3
  } finally {
    await source.close()
  }
}

async function run(
  source: LegacySource,
  plan: { args: Args; config: Config; targetUri: string; reportPath: string; batchSize: number; hashConcurrency: number },
) {
  const { args, config, reportPath } = plan
  const target = await connectDatabase(plan.targetUri, config.mongodbDb, {
    timeoutMs: config.dbTimeoutMs,
    appName: 'users-service-import',
  })
  // The service's own stores and indexes: the unique indexes are what makes a collision a collision.
  const stores = createStores(target, { failureWindowSeconds: config.auth.failures.windowSeconds })
  try {
    await stores.open()
    // Appended to, never truncated: a resumed run does not read again what the run it resumes
    // skipped, so with the same --report those lines must survive.
    await appendFile(reportPath, '')
    const users = createUsersService({ users: stores.users, passwords: createBunPasswordHasher() })
    const summary = await importLegacyUsers(
      {
        source,
        target: createImportTarget(users, target),
        report: async (entries) => {
          if (entries.length > 0) await appendFile(reportPath, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''))
        },
        progress: process.stderr,
      },
      { dryRun: args['dry-run'], restart: args.restart, batchSize: plan.batchSize, hashConcurrency: plan.hashConcurrency },
    )
    console.log(formatSummary(summary))
    const skipped = skippedCount(summary)
    console.log(`report: ${reportPath} (${skipped} line${skipped === 1 ? '' : 's'} added)`)
    console.log(`hash concurrency: ${plan.hashConcurrency}`)
    if (skipped > 0 && !args['allow-skips']) {
      console.error(
        `${skipped} document(s) ${summary.dryRun ? 'would be' : 'were'} skipped: see ${reportPath}. Pass --allow-skips to accept that.`,
      )
      process.exitCode = 1
    }
  } finally {
    stores.close()
    await target.close()
  }
}

await main()
