import { createHash } from 'node:crypto'
import { hash } from '@node-rs/argon2'
import express from 'express'
import mongoose from 'mongoose'
import { isPlainObject, metadataProblem, toUser, User } from './user.model.mjs'

/**
 * Benchmark peer: the users endpoints of users-service as an Express 5 + Mongoose 9 project writes
 * them. Env: PORT, MONGODB_URI, MONGODB_DB. No request log (production Express apps run without
 * morgan or behind a proxy that logs) and no auth: the Authorization header is ignored, which
 * favours this peer. Cursors use the service's format, so one cursor works on every contender.
 */

const ID = /^[0-9a-f]{24}$/
const CREATE_FIELDS = new Set(['username', 'email', 'displayName', 'password', 'metadata', 'role', 'status'])
// A merge patch removes these with null; everywhere else null is refused, not stored.
const NULLABLE_ON_UPDATE = new Set(['displayName', 'metadata'])
const STRING_FIELDS = ['username', 'email', 'displayName', 'role', 'status']
const JSON_TYPES = ['application/json', 'application/merge-patch+json']
// Bun.password's argon2id parameters, so a password costs here what it costs in the service.
const ARGON2 = { memoryCost: 65536, timeCost: 2, parallelism: 1 }

class HttpError extends Error {
  constructor(status, code, title, extra = {}) {
    super(title)
    Object.assign(this, { status, code, extra })
  }
}

const badRequest = (detail, errors) =>
  new HttpError(400, 'validation_failed', 'Request validation failed', { detail, ...(errors ? { errors } : {}) })
const notFound = () => new HttpError(404, 'user_not_found', 'User not found')

function requireId(id) {
  if (!ID.test(id)) throw badRequest('The id must be 24 lower-case hexadecimal characters.', [{ pointer: '/id' }])
  return id
}

/** The request body as an object of known fields, null only where allowed; the password checked and hashed. */
async function readBody(req, nullable = new Set()) {
  if (!req.is(JSON_TYPES)) throw new HttpError(415, 'unsupported_media_type', 'Unsupported media type')
  const body = req.body
  if (!isPlainObject(body)) throw badRequest('The body must be a JSON object.')
  // Mongoose would cast a number to a string; the API takes strings only.
  const notString = STRING_FIELDS.filter((key) => body[key] != null && typeof body[key] !== 'string')
  if (notString.length)
    throw badRequest(
      'These fields must be strings.',
      notString.map((k) => ({ pointer: `/${k}` })),
    )
  const unknown = Object.keys(body).filter((key) => !CREATE_FIELDS.has(key))
  if (unknown.length)
    throw badRequest(
      `Unknown fields: ${unknown.join(', ')}.`,
      unknown.map((k) => ({ pointer: `/${k}` })),
    )
  const nulls = Object.keys(body).filter((key) => body[key] === null && !nullable.has(key))
  if (nulls.length)
    throw badRequest(
      'These fields must not be null.',
      nulls.map((k) => ({ pointer: `/${k}` })),
    )
  const { password, ...fields } = body
  if (password === undefined) return fields
  if (typeof password !== 'string' || password.length < 8 || password.length > 128) {
    throw badRequest('The password must be 8-128 characters.', [{ pointer: '/password' }])
  }
  return { ...fields, passwordHash: await hash(password, ARGON2) }
}

function sendUser(res, status, doc) {
  const user = toUser(doc)
  res.set('ETag', `"${user.version}"`)
  res.status(status).json(user)
}

// The service's keyset cursor: base64url JSON of the last item's createdAt and id, plus a
// fingerprint of the (here always default) filters and sort.
const FINGERPRINT = createHash('sha256')
  .update(JSON.stringify(['-createdAt', null, null, null]))
  .digest('hex')
  .slice(0, 16)

const encodeCursor = (doc) =>
  Buffer.from(JSON.stringify({ v: 1, f: FINGERPRINT, k: doc.createdAt.toISOString(), i: String(doc._id) })).toString('base64url')

function decodeCursor(cursor) {
  try {
    const { v, f, k, i } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    const createdAt = new Date(k)
    if (v === 1 && f === FINGERPRINT && ID.test(i) && !Number.isNaN(createdAt.getTime())) return { createdAt, id: i }
  } catch {}
  throw badRequest('The cursor is not one this service issued.', [{ pointer: '/cursor' }])
}

/** Which unique key a failed write collided on, or null when the error is no duplicate key. */
async function takenField(error, keys, excludeId) {
  // MongoDB: 11000 on insert and update. FerretDB: 11000 on insert, code 1 "UNIQUE constraint" on update.
  const duplicate = error?.code === 11000 || (error?.code === 1 && /UNIQUE constraint|duplicate key/.test(error.message))
  if (!duplicate) return null
  if (error.keyPattern) return 'usernameKey' in error.keyPattern ? 'username' : 'email'
  // FerretDB names no index, so ask which key is already used by another user.
  const or = Object.entries(keys).map(([key, value]) => ({ [key]: value }))
  const other = await User.findOne({ $or: or, ...(excludeId ? { _id: { $ne: excludeId } } : {}) })
    .select('usernameKey emailKey')
    .lean()
  return other && other.usernameKey === keys.usernameKey ? 'username' : 'email'
}

async function conflictOr(error, keys, excludeId) {
  const field = await takenField(error, keys, excludeId)
  if (!field) return error
  return new HttpError(409, `${field}_taken`, `${field === 'username' ? 'Username' : 'Email'} already taken`)
}

/** A JSON merge patch of metadata as dotted-path $set/$unset, so the merge is one atomic update. */
function flattenMetadata(patch, prefix, set, unset) {
  for (const [key, value] of Object.entries(patch)) {
    const path = `${prefix}.${key}`
    if (value === null) unset[path] = ''
    else if (isPlainObject(value)) flattenMetadata(value, path, set, unset)
    else set[path] = value
  }
}

const UPDATE_OPTIONS = { returnDocument: 'after', runValidators: true }

/** RFC 7396: nested objects merge, null removes a key, anything else replaces. */
function mergePatch(target, patch) {
  if (!isPlainObject(patch)) return patch
  const result = isPlainObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = mergePatch(result[key], value)
  }
  return result
}

/** The rare merge dotted paths cannot do: read, merge here, write the whole metadata guarded by its version. */
async function replaceMetadata(filter, patch, set, unset) {
  const current = await User.findOne(filter).select('metadata version').lean()
  if (!current) return null
  const metadata = mergePatch(current.metadata ?? {}, patch)
  const problem = metadataProblem(metadata)
  if (problem) throw badRequest(`metadata ${problem}.`, [{ pointer: '/metadata' }])
  const others = (paths) => Object.fromEntries(Object.entries(paths).filter(([path]) => !path.startsWith('metadata.')))
  const update = { $set: { ...others(set), metadata }, $inc: { version: 1 } }
  if (Object.keys(others(unset)).length) update.$unset = others(unset)
  return User.findOneAndUpdate({ ...filter, version: current.version }, update, UPDATE_OPTIONS).lean()
}

/** If-Match: `*` or a list of strong tags `"<version>"`; null when absent. */
function ifMatchVersions(header) {
  if (header === undefined) return null
  if (header.trim() === '*') return '*'
  return [...header.matchAll(/(?:^|,)\s*"(\d+)"\s*(?=,|$)/g)].map((m) => Number(m[1]))
}

// Express reads NODE_ENV when the app is created; production is how it is deployed.
process.env.NODE_ENV ??= 'production'
const app = express()
app.disable('x-powered-by')
app.use(express.json({ limit: '32kb', type: JSON_TYPES }))

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' })
})

app.get('/v1/users', async (req, res) => {
  const { limit: rawLimit = '20', cursor, ...rest } = req.query
  if (Object.keys(rest).length) throw badRequest(`Unsupported query parameters: ${Object.keys(rest).join(', ')}.`)
  const limit = Number(rawLimit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest('limit must be 1-100.', [{ pointer: '/limit' }])
  let filter = {}
  if (cursor !== undefined) {
    if (typeof cursor !== 'string') throw badRequest('cursor must be a string.', [{ pointer: '/cursor' }])
    const after = decodeCursor(cursor)
    filter = { $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.id } }] }
  }
  const docs = await User.find(filter)
    .sort({ createdAt: -1, _id: -1 })
    .limit(limit + 1)
    .lean()
  const items = docs.slice(0, limit)
  const nextCursor = docs.length > limit ? encodeCursor(items[items.length - 1]) : null
  res.json({ items: items.map(toUser), nextCursor })
})

app.get('/v1/users/by-username/:username', async (req, res) => {
  const doc = await User.findOne({ usernameKey: req.params.username.toLowerCase() }).lean()
  if (!doc) throw notFound()
  sendUser(res, 200, doc)
})

app.get('/v1/users/:id', async (req, res) => {
  const doc = await User.findById(requireId(req.params.id)).lean()
  if (!doc) throw notFound()
  sendUser(res, 200, doc)
})

app.post('/v1/users', async (req, res) => {
  const fields = await readBody(req)
  let created
  try {
    created = await User.create(fields)
  } catch (error) {
    const keys = { usernameKey: String(fields.username).toLowerCase(), emailKey: String(fields.email).trim().toLowerCase() }
    throw await conflictOr(error, keys)
  }
  res.location(`/v1/users/${created._id}`)
  sendUser(res, 201, created.toObject())
})

app.patch('/v1/users/:id', async (req, res) => {
  const id = requireId(req.params.id)
  const fields = await readBody(req, NULLABLE_ON_UPDATE)
  if (Object.keys(fields).length === 0) throw badRequest('The patch must change at least one field.')
  const set = {}
  const unset = {}
  const keys = {}
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'displayName' && value === null) unset.displayName = ''
    else if (key === 'metadata' && value === null) set.metadata = {}
    else if (key === 'metadata') {
      const problem = metadataProblem(value)
      if (problem) throw badRequest(`metadata ${problem}.`, [{ pointer: '/metadata' }])
      flattenMetadata(value, 'metadata', set, unset)
    } else set[key] = value
  }
  if (typeof set.username === 'string') keys.usernameKey = set.usernameKey = set.username.toLowerCase()
  if (typeof set.email === 'string') keys.emailKey = set.emailKey = set.email.trim().toLowerCase()
  const versions = ifMatchVersions(req.get('If-Match'))
  const filter = { _id: id }
  if (Array.isArray(versions)) filter.version = versions.length === 1 ? versions[0] : { $in: versions }
  const update = { $set: set, $inc: { version: 1 }, ...(Object.keys(unset).length ? { $unset: unset } : {}) }
  let doc
  try {
    try {
      doc = await User.findOneAndUpdate(filter, update, UPDATE_OPTIONS).lean()
    } catch (error) {
      // PathNotViable: a patched key holds a non-object, which RFC 7396 replaces; dotted paths cannot.
      if (error?.code !== 28 || !isPlainObject(fields.metadata)) throw error
      doc = await replaceMetadata(filter, fields.metadata, set, unset)
    }
  } catch (error) {
    throw await conflictOr(error, keys, id)
  }
  if (doc) return sendUser(res, 200, doc)
  const current = await User.findById(id).select('version').lean()
  if (!current) throw notFound()
  // Only replaceMetadata's second write can miss a user that exists without a version guard.
  if (!Array.isArray(versions)) throw new HttpError(503, 'service_unavailable', 'The user changed meanwhile; retry.')
  res.set('ETag', `"${current.version}"`)
  throw new HttpError(412, 'precondition_failed', 'Precondition failed', {
    detail: 'If-Match does not match the current version.',
  })
})

app.use((_req, _res, next) => next(new HttpError(404, 'not_found', 'Not found')))

// Every error as problem+json; anything unexpected is a 500 without internals.
app.use((error, _req, res, _next) => {
  let problem = error
  if (error.type === 'entity.parse.failed') problem = new HttpError(400, 'malformed_json', 'Malformed JSON')
  else if (error.type === 'entity.too.large') problem = new HttpError(413, 'payload_too_large', 'Payload too large')
  else if (error instanceof mongoose.Error.ValidationError) {
    const errors = Object.values(error.errors).map((e) => ({ pointer: `/${e.path}`, message: e.message }))
    problem = badRequest('The request has invalid fields.', errors)
  } else if (error instanceof mongoose.Error.StrictModeError || error instanceof mongoose.Error.CastError) {
    problem = badRequest(error.message)
  } else if (!(error instanceof HttpError)) {
    console.error(error)
    problem = new HttpError(500, 'internal_error', 'Internal error')
  }
  res.status(problem.status).type('application/problem+json')
  res.json({ type: 'about:blank', title: problem.message, status: problem.status, code: problem.code, ...problem.extra })
})

await mongoose.connect(process.env.MONGODB_URI, { dbName: process.env.MONGODB_DB })
app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', (error) => {
  if (error) throw error
})
