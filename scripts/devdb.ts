/**
 * The embedded database on its own: `bun run db` starts it on a free port with the data under
 * DEVDB_DATA_DIR (.data/devdb by default) and prints its URI (use it as MONGODB_URI for another process); `bun run db:build`
 * only builds the launcher (CI does this first, so a build failure is reported as such).
 */
import { loadToolConfig } from '../src/config'
import { ensureLauncher, startEmbeddedDatabase } from '../src/db/embedded'
import { exitOnStartupFailure } from '../src/startup'

const onProgress = (message: string) => console.error(message)

if (process.argv.includes('--build-only')) {
  console.log(await ensureLauncher(onProgress))
} else {
  // The same folder as the service's embedded database: DEVDB_DATA_DIR, .data/devdb by default.
  const dataDir = loadToolConfig().devDbDataDir
  const db = await startEmbeddedDatabase({ dataDir, onProgress }).catch((error) => exitOnStartupFailure(error))
  console.log(db.uri)
  console.error(`Embedded database running (data in ${dataDir}, launcher PID ${db.pid}). Ctrl-C stops it.`)
  const stop = async () => {
    await db.stop()
    process.exit(0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
