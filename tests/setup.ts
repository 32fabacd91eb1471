import { afterAll } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../src/db/embedded'

/**
 * Preloaded once per `bun test` run: the database every test file uses. With MONGODB_URI set the
 * suite runs against that server instead (a real MongoDB), unchanged.
 */
let embedded: EmbeddedDatabase | undefined
let dataDir: string | undefined

if (process.env.MONGODB_URI) {
  globalThis.testMongoUri = process.env.MONGODB_URI
} else {
  dataDir = mkdtempSync(join(tmpdir(), 'users-service-test-'))
  embedded = await startEmbeddedDatabase({ dataDir, onProgress: (message) => console.error(message) })
  globalThis.testMongoUri = embedded.uri
}

afterAll(async () => {
  await embedded?.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

declare global {
  var testMongoUri: string
}
