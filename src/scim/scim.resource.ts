/**
 * The SCIM User resource of a user of this service (RFC 7643 §4.1, with the mapping of API.md),
 * and the other way: a resource body (POST, PUT) read into the attributes it sets, through the
 * same attribute rules as PATCH (scim.patch.ts), so a value means the same in all three.
 */
import type { User } from '../users/users.schemas'
import { ScimError } from './scim.errors'
import { parsePatchPath } from './scim.filter'
import { applyUserPatch, type PatchOperation, type ScimUserChanges, type ScimUserState } from './scim.patch'
import { type AttributePath, formatAttributePath, resolveUserAttribute, SCIM_USER_SCHEMA } from './scim.schema'

/** Where the SCIM surface is mounted; `meta.location` and `Location` are paths under it. */
export const SCIM_BASE = '/scim/v2'

/** A User as SCIM shows it; with `attributes`/`excludedAttributes` (scim.projection.ts) any of it but `schemas` and `id` may be left out. */
export type ScimUser = {
  schemas: string[]
  id: string
  externalId?: string
  userName?: string
  name?: { givenName?: string; familyName?: string }
  displayName?: string
  emails?: { value?: string; type?: 'work'; primary?: boolean }[]
  active?: boolean
  meta?: { resourceType?: 'User'; created?: string; lastModified?: string; location?: string; version?: string }
}

/** `meta.version` and the ETag: a weak entity tag of the user's version (RFC 7644 §3.14). */
export const scimVersion = (version: number) => `W/"${version}"`

/**
 * The resource: the one stored email is the user's primary, "work" email; `active` is the status
 * as it is now (a disable that has run out is active); the password is never shown. Relative
 * `meta.location`: right behind any proxy, as /v1's Location is.
 */
export function toScimUser(user: User): ScimUser {
  const name = {
    ...(user.givenName !== undefined ? { givenName: user.givenName } : {}),
    ...(user.familyName !== undefined ? { familyName: user.familyName } : {}),
  }
  return {
    schemas: [SCIM_USER_SCHEMA],
    id: user.id,
    ...(user.externalId !== undefined ? { externalId: user.externalId } : {}),
    userName: user.username,
    ...(Object.keys(name).length > 0 ? { name } : {}),
    ...(user.displayName !== undefined ? { displayName: user.displayName } : {}),
    emails: [{ value: user.email, type: 'work', primary: true }],
    active: user.status === 'active',
    meta: {
      resourceType: 'User',
      created: user.createdAt,
      lastModified: user.updatedAt,
      location: `${SCIM_BASE}/Users/${user.id}`,
      version: scimVersion(user.version),
    },
  }
}

/** What PATCH works on: the stored user in SCIM's names. */
export function stateOf(user: User): ScimUserState {
  return {
    id: user.id,
    userName: user.username,
    email: user.email,
    givenName: user.givenName ?? null,
    familyName: user.familyName ?? null,
    displayName: user.displayName ?? null,
    externalId: user.externalId ?? null,
    active: user.status === 'active',
  }
}

/** Nothing set: a resource body's attributes are applied to this, so every one it sets is named. */
const BLANK: ScimUserState = {
  id: '',
  userName: '',
  email: null,
  givenName: null,
  familyName: null,
  displayName: null,
  externalId: null,
  active: true,
}

type JsonObject = { [key: string]: unknown }

/**
 * The attributes a User resource body (POST, PUT) sets. Attribute names are case-insensitive and
 * may carry the core schema URN; the core schema URN as a key holds core attributes. Ignored (not
 * stored, never refused): read-only attributes (`id`, `meta`, `groups`, as RFC 7644 §3.5.1 says
 * for PUT), core and enterprise-extension attributes the service does not store. Refused
 * (`invalidSyntax`): a name that is no attribute of User, of its core or enterprise schema, or
 * given twice; a `schemas` without the User schema (`invalidValue`).
 */
export function readUserResource(body: JsonObject): ScimUserChanges {
  return applyUserPatch(BLANK, resourceOperations(body, new Set()))
}

function resourceOperations(body: JsonObject, seen: Set<string>): PatchOperation[] {
  const operations: PatchOperation[] = []
  for (const [key, value] of Object.entries(body)) {
    const path = attributePathOf(key)
    const target = resolveUserAttribute(path)
    const name = formatAttributePath(path)
    const once = (id: string) => {
      if (seen.has(id))
        throw new ScimError('invalidSyntax', `'${name}' is given more than once (attribute names are case-insensitive).`)
      seen.add(id)
    }
    switch (target.kind) {
      case 'coreSchema':
        if (!isObject(value)) throw new ScimError('invalidSyntax', `'${name}' must be an object of User attributes.`)
        operations.push(...resourceOperations(value, seen))
        break
      case 'schemas':
        once('schemas')
        checkSchemas(value)
        break
      case 'unknown':
        throw new ScimError('invalidSyntax', `'${name}' is not an attribute of User (core or enterprise schema).`)
      case 'modelled':
        if (target.subAttribute !== undefined) {
          throw new ScimError('invalidSyntax', `'${name}': a resource names sub-attributes inside their attribute's object.`)
        }
        once(target.attribute)
        operations.push({ op: 'replace', path: { path }, value, index: -1 })
        break
      // readOnly, ignored, extensionSchema: accepted and ignored.
    }
  }
  return operations
}

/** A resource key as an attribute path: a name, or a name qualified by its schema URN. */
function attributePathOf(key: string): AttributePath {
  try {
    const parsed = parsePatchPath(key)
    if (parsed.filter === undefined && parsed.subAttribute === undefined) return parsed.path
  } catch (error) {
    if (!(error instanceof ScimError)) throw error
  }
  throw new ScimError(
    'invalidSyntax',
    'An attribute name is not valid: a letter, then letters, digits, "-" or "_" (RFC 7643 §2.1), optionally after a schema URN.',
  )
}

function checkSchemas(value: unknown): void {
  const listed = Array.isArray(value) && value.every((schema) => typeof schema === 'string') ? (value as string[]) : null
  if (!listed?.some((schema) => schema.toLowerCase() === SCIM_USER_SCHEMA.toLowerCase())) {
    throw new ScimError('invalidValue', `'schemas' must be a list of schema URNs that holds ${SCIM_USER_SCHEMA}.`)
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
