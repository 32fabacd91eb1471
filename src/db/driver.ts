/**
 * The driver's names the users and webhooks storage modules build their documents, filters and
 * writes with (`*.document.ts`, `*.writes.ts`, `users.pagination.ts`): re-exported here so that
 * only src/db/ and the `*.repository.ts` modules import `mongodb` itself (scripts/architecture.ts).
 */

export type { Collection, Filter, Sort, UpdateFilter } from 'mongodb'
export { MongoBulkWriteError, ObjectId } from 'mongodb'
