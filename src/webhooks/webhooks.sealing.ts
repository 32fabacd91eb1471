import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

/**
 * Webhook signing secrets sealed at rest (WEBHOOK_SECRET_KEYS): whoever reads the database (a
 * backup, a replica's user, a dump) must not be able to sign webhooks as this service.
 *
 * A sealed secret is `sealed:v1:<key id>:<iv>:<ciphertext and tag>` (base64url parts): AES-256-GCM
 * under the first configured key, a fresh 96-bit IV each time, and the endpoint id (with the
 * version and key id) as additional data, so a sealed secret copied to another endpoint does not
 * open. The key id is the first 8 hex digits of the key's SHA-256: it picks the key to try, and
 * says nothing usable about a 256-bit random key. Every configured key opens; only the first seals.
 * A plain `whsec_` secret (written before a key was set) still opens, and is stale: the repository
 * writes it again sealed. Pure: no database, no environment.
 */

export type SecretSealer = {
  /** The secret as it is stored: sealed under the first key, or as given when no key is set. */
  seal(secret: string, endpointId: string): string
  /** The secret a stored value holds, or null when no configured key opens it (or it was moved). */
  open(stored: string, endpointId: string): string | null
  /** Whether a stored value should be written again: plain while a key is set, or sealed under another key than the first. */
  stale(stored: string): boolean
}

const PREFIX = 'sealed:v1:'
const IV_BYTES = 12
const TAG_BYTES = 16

/** The key id a sealed secret names: 8 hex digits of the key's SHA-256. */
export function keyIdOf(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8)
}

/** Whether a stored value is a sealed secret (of any version this module writes). */
export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX)
}

/** A sealer over `keys` (32 bytes each; the first seals, every one opens); none: secrets stay as given. */
export function createSecretSealer(keys: readonly Uint8Array[]): SecretSealer {
  const byId = new Map(keys.map((key) => [keyIdOf(key), key] as const))
  const first = keys[0]
  const firstId = first ? keyIdOf(first) : undefined
  return {
    seal(secret, endpointId) {
      if (!first || !firstId) return secret
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', first, iv)
      cipher.setAAD(additionalData(firstId, endpointId))
      const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()])
      return `${PREFIX}${firstId}:${iv.toString('base64url')}:${sealed.toString('base64url')}`
    },
    open(stored, endpointId) {
      if (!isSealed(stored)) return stored
      const [keyId = '', iv = '', data = ''] = stored.slice(PREFIX.length).split(':')
      const key = byId.get(keyId)
      if (!key) return null
      return openWith(key, keyId, Buffer.from(iv, 'base64url'), Buffer.from(data, 'base64url'), endpointId)
    },
    stale(stored) {
      if (!firstId) return false
      return !isSealed(stored) || !stored.startsWith(`${PREFIX}${firstId}:`)
    },
  }
}

function additionalData(keyId: string, endpointId: string): Buffer {
  return Buffer.from(`${PREFIX}${keyId}:${endpointId}`, 'utf8')
}

/** Null for anything GCM refuses: a wrong endpoint, a changed byte, a truncated value. */
function openWith(key: Uint8Array, keyId: string, iv: Buffer, data: Buffer, endpointId: string): string | null {
  if (iv.length !== IV_BYTES || data.length <= TAG_BYTES) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv)
    decipher.setAAD(additionalData(keyId, endpointId))
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES))
    return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}
