/**
 * The scopes of API.md: a leaf module, so configuration (which parses keys' scopes) and caller
 * authentication (which checks them) both depend on it and not on each other.
 * `users:admin` adds to `users:write`; it does not imply it. `scim` opens /scim/v2 only (and there
 * carries users:admin's authority, so an identity provider can deprovision an administrator); it
 * opens nothing else, and no other scope opens /scim/v2. `events:read` reads the change feed.
 */
export const SCOPES = ['users:read', 'users:write', 'users:admin', 'scim', 'events:read', 'webhooks:manage'] as const
export type Scope = (typeof SCOPES)[number]

/** JWT algorithms the service can be configured to accept (never `none`). */
export const SYMMETRIC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'] as const
