/**
 * The floor: raw Bun.serve and the mongodb driver doing each workload's query directly. No
 * framework, no validation, no mapping beyond Response.json (so `_id` goes out as it is stored).
 * What the service adds on top of this is its cost. Env: PORT, MONGODB_URI, MONGODB_DB.
 */
import { MongoClient, ObjectId } from 'mongodb'

type Doc = { _id: ObjectId; createdAt: Date; version: number }

const client = new MongoClient(process.env.MONGODB_URI ?? '', { maxPoolSize: 50 })
const users = client.db(process.env.MONGODB_DB).collection<Doc>('users')
const withEtag = (doc: Doc, status = 200) => Response.json(doc, { status, headers: { ETag: `"${doc.version}"` } })
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
        const doc = await users.findOneAndUpdate(
          { _id: new ObjectId(req.params.id), version },
          { $set: { ...(await req.json()), updatedAt: new Date() }, $inc: { version: 1 } },
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
        const doc = {
          _id: new ObjectId(),
          ...body,
          usernameKey: body.username.toLowerCase(),
          emailKey: body.email.toLowerCase(),
          metadata: {},
          role: 'user',
          status: 'active',
          createdAt: now,
          updatedAt: now,
          version: 1,
        }
        await users.insertOne(doc)
        return withEtag(doc, 201)
      },
    },
  },
})
