import { type Db, MongoClient } from 'mongodb'

/** How long readiness waits for a ping before calling the database unreachable. */
const PING_TIMEOUT_MS = 2000

export type Database = {
  db: Db
  /** Resolves when the server answers a ping within PING_TIMEOUT_MS. */
  ping(): Promise<void>
  close(): Promise<void>
}

/**
 * Opens the MongoDB client. Timeouts are short so a request never hangs on an unreachable server:
 * the repository turns the resulting errors into 503s. Compression stays off (nothing to gain on
 * loopback or in-VPC, and FerretDB does not offer it).
 */
export async function connectDatabase(uri: string, dbName: string, options: { appName?: string } = {}): Promise<Database> {
  const client = new MongoClient(uri, {
    appName: options.appName ?? 'users-service',
    serverSelectionTimeoutMS: 5000,
    connectTimeoutMS: 5000,
    maxPoolSize: 50,
  })
  await client.connect()
  const db = client.db(dbName)
  return {
    db,
    ping: async () => {
      await db.command({ ping: 1 }, { timeoutMS: PING_TIMEOUT_MS })
    },
    close: () => client.close(),
  }
}
