import { expect } from 'bun:test'
import { randomBytes } from 'node:crypto'

/** Helpers of the /scim/v2 tests: keys, requests in SCIM's media type, and the SCIM Error check. */

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

export { apiKey } from './keys'

type Raw = (path: string, init?: RequestInit) => Promise<Response> | Response

/** Requests to /scim/v2 with a bearer token and SCIM's media type. */
export function scimClient(raw: Raw, token: string) {
  const headers = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra })
  const send = async (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) =>
    raw(`/scim/v2${path}`, {
      method,
      headers: headers(body === undefined ? extra : { 'content-type': 'application/scim+json', ...extra }),
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    })
  return {
    get: (path: string, extra: Record<string, string> = {}) => send('GET', path, undefined, extra),
    post: (path: string, body: unknown, extra: Record<string, string> = {}) => send('POST', path, body, extra),
    put: (path: string, body: unknown, extra: Record<string, string> = {}) => send('PUT', path, body, extra),
    patch: (path: string, operations: unknown[], extra: Record<string, string> = {}) =>
      send('PATCH', path, { schemas: [PATCH_OP], Operations: operations }, extra),
    delete: (path: string, extra: Record<string, string> = {}) => send('DELETE', path, undefined, extra),
    send,
  }
}

let counter = 0
/** A valid, unique SCIM User; override what the test is about. */
export function scimUser(overrides: Record<string, unknown> = {}) {
  const n = `${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`
  return {
    schemas: [CORE_USER],
    userName: `scim.${n}@example.com`,
    emails: [{ value: `scim.${n}@example.com`, type: 'work', primary: true }],
    active: true,
    ...overrides,
  }
}

export type ScimUserBody = {
  schemas: string[]
  id: string
  userName: string
  externalId?: string
  displayName?: string
  name?: { givenName?: string; familyName?: string }
  emails: { value: string; type: string; primary: boolean }[]
  active: boolean
  meta: { version: string; location: string; created: string; lastModified: string; resourceType: string }
}

/** The answer is a SCIM Error with this status (and scimType, when given), in SCIM's media type. */
export async function expectScimError(res: Response, status: number, scimType?: string) {
  const body = (await res.json()) as Record<string, unknown>
  expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status, type: 'application/scim+json' })
  expect(body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error'])
  expect(body.status).toBe(String(status))
  if (scimType === undefined) expect(body).not.toHaveProperty('scimType')
  else expect(body.scimType).toBe(scimType)
  return body as { detail?: string; scimType?: string }
}
