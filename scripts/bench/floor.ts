/**
 * The floor: raw Bun.serve and the mongodb driver doing each workload's query directly. No
 * framework, no validation, no mapping beyond Response.json (so `_id` goes out as it is stored).
 * What the service adds on top of this is its cost. Env: PORT, MONGODB_URI, MONGODB_DB.
 *
 * The same database work as the service, and nothing else (issue 18): a write is the service's
 * single-document write, its change event pushed into the user's outbox with the same filter and
 * update (src/users/users.outbox.document.ts, users.writes.ts), so the database and the driver do
 * what they do for the service. Moving those events into the feed is the service's relay's work,
 * not the request's: the floor runs none. It has a database of its own in the bench, so no one
 * relays them: they stay in its users' outboxes (100 each at most; a bench run writes far fewer).
 */
import { MongoClient, ObjectId } from 'mongodb'
import { ulid } from 'ulid'

type Doc = { _id: ObjectId; createdAt: Date; version: number; pendingEvents?: object[]; eventBase?: object }

const client = new MongoClient(process.env.MONGODB_URI ?? '', { maxPoolSize: 50 })
const users = client.db(process.env.MONGODB_DB).collection<Doc>('users')
/** The document as stored, but the outbox (never an answer's, in the service either). */
const withEtag = ({ pendingEvents: _events, eventBase: _base, ...doc }: Doc, status = 200) =>
  Response.json(doc, { status, headers: { ETag: `"${doc.version}"` } })
const event = (type: string, at: Date, fields: object) => ({ id: `evt_${ulid(at.getTime())}`, type, occurredAt: at, ...fields })
/** The service's guards on a change: not deleted, an ordinary active user, room in the outbox, no erase in progress. */
const changeFilter = (id: string, version: number, now: Date) => ({
  _id: new ObjectId(id),
  deletedAt: { $exists: false },
  version: { $in: [version] },
  role: 'user',
  $and: [{ $or: [{ status: 'active' }, { status: 'disabled', disabledUntil: { $lte: now } }] }],
  eventBase: { $exists: true },
  'pendingEvents.99': { $exists: false },
  $nor: [{ erasingAt: { $gt: new Date(now.getTime() - 60_000) } }],
})
const missing = () => new Response(null, { status: 404 })

Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.env.PORT),
  routes: {
    '/healthz': () => Response.json({ status: 'ok' }),
    '/v1/users/by-username/:username': async (req) => {
      const doc = await users.findOne({ usernameKey: req.params.username.toLowerCase() })
      return doc ? withEtag(doc) : missing()
    },
    '/v1/users/:id': {
      GET: async (req) => {
        const doc = await users.findOne({ _id: new ObjectId(req.params.id) })
        return doc ? withEtag(doc) : missing()
      },
      PATCH: async (req) => {
        const version = Number(req.headers.get('if-match')?.replaceAll('"', ''))
        const body = (await req.json()) as Record<string, unknown>
        const now = new Date()
        const differs = Object.entries(body).map(([field, value]) => ({ [field]: { $ne: value } }))
        const doc = await users.findOneAndUpdate(
          { ...changeFilter(req.params.id, version, now), $or: differs },
          {
            $set: { ...body, updatedAt: now },
            $inc: { version: 1 },
            $push: { pendingEvents: event('user.updated', now, { set: body }) },
            $min: { outboxSince: now },
          },
          { returnDocument: 'after' },
        )
        return doc ? withEtag(doc) : new Response(null, { status: 412 })
      },
    },
    '/v1/users': {
      GET: async (req) => {
        const params = new URL(req.url).searchParams
        const limit = Number(params.get('limit') ?? 20)
        // The cursor is "<createdAt ms>.<_id hex>" of the last item; pages run newest first.
        const [ms, id] = (params.get('cursor') ?? '').split('.')
        const filter = id
          ? {
              $or: [
                { createdAt: { $lt: new Date(Number(ms)) } },
                { createdAt: new Date(Number(ms)), _id: { $lt: new ObjectId(id) } },
              ],
            }
          : {}
        const docs = await users
          .find(filter)
          .sort({ createdAt: -1, _id: -1 })
          .limit(limit + 1)
          .toArray()
        const items = docs.slice(0, limit)
        const last = items.at(-1)
        const nextCursor = docs.length > limit && last ? `${last.createdAt.getTime()}.${last._id.toHexString()}` : null
        return Response.json({ items, nextCursor })
      },
      POST: async (req) => {
        const body = (await req.json()) as { username: string; email: string }
        const now = new Date()
        const _id = new ObjectId()
        const fields = { ...body, metadata: {}, role: 'user', status: 'active', emailVerified: false }
        const user = { id: _id.toHexString(), ...fields, hasPassword: false, createdAt: now, updatedAt: now, version: 1 }
        const doc = {
          _id,
          ...fields,
          usernameKey: body.username.toLowerCase(),
          emailKey: body.email.toLowerCase(),
          createdAt: now,
          updatedAt: now,
          version: 1,
          // The user.created event, written by the same insert.
          pendingEvents: [event('user.created', now, { user })],
          eventBase: { version: 0 },
          outboxSince: now,
        }
        await users.insertOne(doc)
        return withEtag(doc, 201)
      },
    },
  },
})
