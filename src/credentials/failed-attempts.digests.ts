import { createHmac } from 'node:crypto'
import type { Counter, LoginSubject } from './failed-attempts'

/**
 * The key used when AUTH_FAILURE_KEY_SECRET is unset. The digests then still keep logins and
 * addresses out of sight of whoever reads the collection, but someone holding a guess (a login,
 * an address: IPv4 has only 2^32) can confirm it; a secret of the operator's stops that.
 */
const DEFAULT_KEY = 'users-service auth_failures v1'

/** How a counter is named in storage: its `_id`, and the `subject` an erasure deletes by. */
export type CounterDigests = {
  id(counter: Counter): string
  subject(subject: LoginSubject): string
}

/**
 * Keyed digests (HMAC-SHA-256, base64url) of what counters count. Every replica must use the same
 * secret; changing it starts every count afresh (old counters expire with their windows).
 */
export function counterDigests(secret: string | undefined): CounterDigests {
  const key = secret ?? DEFAULT_KEY
  // Only the last part of a digest's input can hold arbitrary text (a login, a client name); the
  // others are fixed words, digests and addresses, none containing NUL: the joins are unambiguous.
  const digest = (...parts: string[]) => createHmac('sha256', key).update(parts.join('\0')).digest('base64url')
  const subject = (s: LoginSubject) => ('userId' in s ? digest('user', s.userId) : digest('login', loginKey(s.login)))
  return {
    subject,
    id(counter) {
      switch (counter.kind) {
        case 'login':
          return digest('login', subject(counter.subject), counter.address ?? '')
        case 'ip':
          return digest('ip', counter.address)
        case 'client':
          return digest('client', counter.client)
      }
    },
  }
}

/** A login as counted: case does not matter (the users service finds logins in any case). */
function loginKey(login: string): string {
  return login.trim().toLowerCase()
}
