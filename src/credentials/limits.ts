import type { Counter, LimitedCounter, LimitKind, LoginSubject } from './failed-attempts'

/** AUTH_MAX_FAILURES_PER_LOGIN, _PER_IP and _PER_CLIENT: failures per window. */
export type FailureLimits = { perLogin: number; perIp: number; perClient: number }

/**
 * The counters one credential check is counted on: with the end user's address, the address
 * across logins and the login from that address; without it, the calling client across logins and
 * the login from anywhere (which makes one caller's failures everyone's: the risk of a shared
 * front-end key). The broader counter comes first, so a request refused there never touches a
 * login's count. With an address the client is not limited: its per-client limit would be exactly
 * the shared key's outage, and the address's own limit bounds the guessing.
 */
export function countersFor(
  check: { subject: LoginSubject; address: string | undefined; client: string },
  limits: FailureLimits,
): { counters: LimitedCounter[]; login: Counter; broad: Counter } {
  const { subject, address, client } = check
  const [login, broad, broadLimit]: [Counter, Counter, number] =
    address === undefined
      ? [{ kind: 'login', subject }, { kind: 'client', client }, limits.perClient]
      : [{ kind: 'login', subject, address }, { kind: 'ip', address }, limits.perIp]
  return {
    counters: [
      { counter: broad, limit: broadLimit },
      { counter: login, limit: limits.perLogin },
    ],
    login,
    broad,
  }
}

/** The 429's detail for each limit; the client's says how a front end avoids it. */
export const REFUSED_BY: Record<LimitKind, (address: boolean) => string> = {
  login: (address) => `Too many failed attempts for this login${address ? ' from this address' : ''}.`,
  ip: () => 'Too many failed attempts from this address.',
  client: () =>
    "Too many failed attempts from this client. A front end checking many end users' credentials should pass each end user's address as `ip`.",
}
