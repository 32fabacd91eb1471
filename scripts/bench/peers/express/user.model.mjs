import mongoose from 'mongoose'

/**
 * The User model as an Express + Mongoose project writes it: the validation lives in the schema,
 * uniqueness in unique indexes on lower-cased keys. It maps onto the service's `users` collection
 * and stored shape (same field names, `version` instead of Mongoose's `__v`), so every contender
 * of the benchmark reads and writes the same documents.
 */

export const ROLES = ['user', 'moderator', 'admin']
export const STATUSES = ['active', 'disabled']
const USERNAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{1,30})[A-Za-z0-9]$/
// The usual hand-written email check of Express projects (the service uses zod's stricter one).
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
// Control characters and bidirectional overrides, as the service refuses them.
const UNSAFE_DISPLAY = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u
const METADATA_KEY = /^[A-Za-z0-9_-]{1,64}$/
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

export const isPlainObject = (value) =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype

/**
 * The metadata rules of API.md: a JSON object, at most 16 KiB and 5 levels deep, safe keys, no
 * array directly inside an array. Returns the first problem found, or null.
 */
export function metadataProblem(value) {
  if (!isPlainObject(value)) return 'must be a JSON object'
  if (Buffer.byteLength(JSON.stringify(value)) > 16 * 1024) return 'must be at most 16 KiB serialized'
  // Depth counts the metadata object as level 1, and arrays as levels too, as the service does.
  const walk = (node, depth, insideArray) => {
    if (Array.isArray(node)) {
      if (insideArray) return 'must not hold an array directly inside an array'
      if (depth > 5) return 'must be at most 5 levels deep'
      for (const item of node) {
        const problem = walk(item, depth + 1, true)
        if (problem) return problem
      }
      return null
    }
    if (!isPlainObject(node)) return null
    if (depth > 5) return 'must be at most 5 levels deep'
    for (const [key, child] of Object.entries(node)) {
      if (!METADATA_KEY.test(key) || FORBIDDEN_KEYS.has(key)) return `has a key that is not 1-64 characters of [A-Za-z0-9_-]`
      if (child === null) continue // a JSON value, and in a merge patch the removal of the key
      const problem = walk(child, depth + 1, false)
      if (problem) return problem
    }
    return null
  }
  return walk(value, 1, false)
}

const userSchema = new mongoose.Schema(
  {
    username: { type: String, required: true, match: [USERNAME, 'must be 3-32 characters of [A-Za-z0-9._-]'] },
    usernameKey: { type: String, required: true },
    email: {
      type: String,
      required: true,
      trim: true,
      maxlength: 254,
      match: [EMAIL, 'must be a valid email address'],
    },
    emailKey: { type: String, required: true },
    displayName: {
      type: String,
      trim: true,
      minlength: 1,
      maxlength: 100,
      validate: { validator: (v) => !UNSAFE_DISPLAY.test(v), message: 'must not contain control characters' },
    },
    metadata: {
      type: mongoose.Schema.Types.Mixed,
      default: () => ({}),
      validate: { validator: (v) => metadataProblem(v) === null, message: (props) => metadataProblem(props.value) },
    },
    role: { type: String, enum: ROLES, default: 'user' },
    status: { type: String, enum: STATUSES, default: 'active' },
    passwordHash: { type: String },
    version: { type: Number, default: 1, min: 1 },
    emailVerified: { type: Boolean, default: false },
  },
  {
    collection: 'users',
    versionKey: false,
    timestamps: true,
    // Unknown fields are an error, not silently dropped; and `metadata: {}` is stored, not omitted.
    strict: 'throw',
    minimize: false,
  },
)

// The service's indexes, with its names and specs: Mongoose's autoIndex then finds them already
// there (declaring `unique: true` on the path instead would ask for `usernameKey_1`, a conflict).
userSchema.index({ usernameKey: 1 }, { name: 'usernameKey_unique', unique: true })
userSchema.index({ emailKey: 1 }, { name: 'emailKey_unique', unique: true })
userSchema.index({ createdAt: -1, _id: -1 }, { name: 'createdAt_id' })

// The normalized keys follow the values on create (after `trim` has run).
userSchema.pre('validate', function normalizeKeys() {
  if (typeof this.username === 'string') this.usernameKey = this.username.toLowerCase()
  if (typeof this.email === 'string') this.emailKey = this.email.toLowerCase()
})

export const User = mongoose.model('User', userSchema)

/** The API's User from a lean document; the password hash never leaves here. */
export function toUser(doc) {
  return {
    id: String(doc._id),
    username: doc.username,
    email: doc.email,
    ...(doc.displayName !== undefined ? { displayName: doc.displayName } : {}),
    metadata: doc.metadata ?? {},
    role: doc.role,
    status: doc.status,
    hasPassword: typeof doc.passwordHash === 'string',
    emailVerified: doc.emailVerified ?? false,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
    version: doc.version,
  }
}
