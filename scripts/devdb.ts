/**
 * The embedded database on its own: `bun run db` starts it on a free port with the data under
 * .data/devdb and prints its URI (use it as MONGODB_URI for another process); `bun run db:build`
 * only builds the launcher (CI does this first, so a build failure is reported as such).
 */
import { ensureLauncher, startEmbeddedDatabase } from '../src/db/embedded'

const onProgress = (message: string) => console.error(message)

if (process.argv.includes('--build-only')) {
  console.log(await ensureLauncher(onProgress))
} else {
  const db = await startEmbeddedDatabase({ dataDir: '.data/devdb', onProgress })
  console.log(db.uri)
  console.error('Embedded database running (data in .data/devdb). Ctrl-C stops it.')
  const stop = async () => {
    await db.stop()
    process.exit(0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
