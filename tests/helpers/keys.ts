import { createHash, randomBytes } from 'node:crypto'
import type { Scope } from '../../src/scopes'

/** A fresh random API key and its AUTH_API_KEYS entry (the key's SHA-256, never the key). */
export function apiKey(name: string, scopes: Scope[]) {
  const key = `usk_${randomBytes(24).toString('base64url')}`
  return { key, entry: { name, sha256: createHash('sha256').update(key).digest('hex'), scopes } }
}
