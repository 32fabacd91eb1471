/**
 * Makes a static API key: `bun run apikey <name> <scope>...` prints the key (give it to the
 * calling service, once) and AUTH_API_KEYS as a ready-to-paste JSON array holding only its SHA-256
 * (and the entry alone, to add to an existing array).
 */
import { createHash, randomBytes } from 'node:crypto'
import { SCOPES } from '../src/scopes'

const [name, ...scopes] = process.argv.slice(2)
const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope))
if (!name || !/^[A-Za-z0-9._-]{1,64}$/.test(name) || scopes.length === 0 || unknown.length > 0) {
  console.error(`usage: bun run apikey <name> <scope>...   (scopes: ${SCOPES.join(', ')})`)
  process.exit(2)
}
// 32 random bytes: far beyond guessing, so a fast hash is the right way to store it.
const key = `usk_${randomBytes(32).toString('base64url')}`
const entry = { name, sha256: createHash('sha256').update(key).digest('hex'), scopes }
console.log(`key (give it to ${name}; it is not stored anywhere): ${key}`)
console.log('')
console.log('For the service, ready to paste into .env or your deployment (the SHA-256 only, never the key):')
console.log(`AUTH_API_KEYS='${JSON.stringify([entry])}'`)
console.log('')
console.log(`Already have keys? Add this entry to the array: ${JSON.stringify(entry)}`)
