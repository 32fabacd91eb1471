/**
 * The SCIM names this service knows: message and schema URNs, and where an attribute path of the
 * User resource points (RFC 7643 §4.1 core attributes, §4.3 enterprise extension). Shared by the
 * filter translator and the PATCH parser so both read a path the same way.
 */

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User'
const SCIM_ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const SCIM_PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
export const SCIM_LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'

/** An attribute path as written (RFC 7644 §3.10): optional schema URN, attribute, optional sub-attribute. */
export type AttributePath = { schema?: string; attribute: string; subAttribute?: string }

/**
 * Core User attributes an identity provider may send that this service does not store: accepted
 * and ignored, never refused (API.md), and never given a meaning here (SCIM `roles` is not `role`).
 */
const IGNORED_CORE_ATTRIBUTES = new Set([
  'nickname',
  'profileurl',
  'title',
  'usertype',
  'preferredlanguage',
  'locale',
  'timezone',
  'phonenumbers',
  'ims',
  'photos',
  'addresses',
  'entitlements',
  'roles',
  'x509certificates',
])

/** Attributes the service provider owns (RFC 7643 §3.1, §4.1.2 `groups` is readOnly). */
const READ_ONLY_ATTRIBUTES = new Set(['id', 'meta', 'groups'])

/** Attributes stored, each with the sub-attributes it has (empty: a simple attribute). */
const MODELLED_ATTRIBUTES: Record<string, readonly string[]> = {
  username: [],
  displayname: [],
  externalid: [],
  active: [],
  password: [],
  name: ['givenname', 'familyname', 'formatted', 'middlename', 'honorificprefix', 'honorificsuffix'],
  emails: ['value', 'type', 'primary', 'display'],
}

/**
 * Where a path of the User resource points, names lower-cased (SCIM names are case-insensitive):
 * - `modelled`: a stored attribute (`subAttribute` validated against the attribute's own);
 * - `readOnly`: id, meta, groups;
 * - `ignored`: a core attribute or an enterprise-extension attribute the service does not store;
 * - `coreSchema` / `extensionSchema`: the bare schema URN, as a value-only PATCH key may be;
 * - `schemas`: the resource's `schemas` list;
 * - `unknown`: anything else (an unknown attribute, sub-attribute or schema).
 */
export type UserAttributeTarget =
  | { kind: 'modelled'; attribute: string; subAttribute?: string }
  | { kind: 'readOnly'; attribute: string }
  | { kind: 'ignored' }
  | { kind: 'coreSchema' }
  | { kind: 'extensionSchema' }
  | { kind: 'schemas' }
  | { kind: 'unknown' }

/** Resolves a parsed attribute path against the User resource's schemas. */
export function resolveUserAttribute(path: AttributePath): UserAttributeTarget {
  const attribute = path.attribute.toLowerCase()
  const subAttribute = path.subAttribute?.toLowerCase()
  if (path.schema !== undefined) {
    const schema = path.schema.toLowerCase()
    const whole = `${schema}:${attribute}`
    if (subAttribute === undefined && whole === SCIM_USER_SCHEMA.toLowerCase()) return { kind: 'coreSchema' }
    if (subAttribute === undefined && whole === SCIM_ENTERPRISE_USER_SCHEMA.toLowerCase()) return { kind: 'extensionSchema' }
    if (schema === SCIM_ENTERPRISE_USER_SCHEMA.toLowerCase()) return { kind: 'ignored' }
    if (schema !== SCIM_USER_SCHEMA.toLowerCase()) return { kind: 'unknown' }
  }
  if (attribute === 'schemas' && subAttribute === undefined && path.schema === undefined) return { kind: 'schemas' }
  if (READ_ONLY_ATTRIBUTES.has(attribute)) return { kind: 'readOnly', attribute }
  if (IGNORED_CORE_ATTRIBUTES.has(attribute)) return { kind: 'ignored' }
  const subAttributes = MODELLED_ATTRIBUTES[attribute]
  if (!subAttributes || !Object.hasOwn(MODELLED_ATTRIBUTES, attribute)) return { kind: 'unknown' }
  if (subAttribute === undefined) return { kind: 'modelled', attribute }
  if (!subAttributes.includes(subAttribute)) return { kind: 'unknown' }
  return { kind: 'modelled', attribute, subAttribute }
}

/** The path as the caller wrote it, for error details (names only, never values). */
export function formatAttributePath(path: AttributePath): string {
  return `${path.schema ? `${path.schema}:` : ''}${path.attribute}${path.subAttribute ? `.${path.subAttribute}` : ''}`
}
