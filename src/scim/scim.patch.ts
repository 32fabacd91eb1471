/**
 * SCIM PATCH (RFC 7644 §3.5.2) for Users: `parsePatchRequest` checks a PatchOp message and
 * normalizes it into operations that each have a parsed path (a value-only `add`/`replace` becomes
 * one operation per key); `applyUserPatch` applies them, in order, to the SCIM-modelled state of
 * one user and returns the attributes they set. What the later SCIM surface turns into a users
 * service patch.
 *
 * Written for what identity providers send (see tests/fixtures/scim): `op` in any case (Entra's
 * "Replace"), `active` as "True"/"False" strings, value-only replaces keyed by dotted paths
 * (`name.givenName`), filtered paths (`emails[type eq "work"].value`), the enterprise extension
 * (accepted, not stored), core attributes the service does not store (accepted and ignored).
 */
import { ScimError, type ScimType } from './scim.errors'
import { type PatchPath, parsePatchPath } from './scim.filter'
import { type EmailValue, evaluateEmailFilter, filterMentionsValue, selectEmail } from './scim.patch.emails'
import { formatAttributePath, resolveUserAttribute, SCIM_PATCH_OP_SCHEMA } from './scim.schema'

/** What the service stores of a user, as SCIM names it. The one email is the primary "work" email. */
export type ScimUserState = {
  id: string
  userName: string
  email: string | null
  givenName: string | null
  familyName: string | null
  displayName: string | null
  externalId: string | null
  active: boolean
}

/** The attributes a PATCH sets, with their new values (`null`: removed). `password` is write-only. */
export type ScimUserChanges = Partial<Omit<ScimUserState, 'id'>> & { password?: string | null }

/**
 * One normalized operation: a parsed path always (value-only operations are split per key).
 * `index`: its place in `Operations`, or -1 for an attribute of a resource body (POST, PUT).
 */
export type PatchOperation = { op: 'add' | 'remove' | 'replace'; path: PatchPath; value?: unknown; index: number }

/** More operations than any provider sends in one request (Entra sends one per changed attribute). */
export const MAX_PATCH_OPERATIONS = 100

type JsonObject = { [key: string]: unknown }
type Fail = (scimType: ScimType, detail: string) => never

/** Validates a PatchOp body and returns its operations; throws ScimError (invalidSyntax, invalidPath, noTarget). */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw new ScimError('invalidSyntax', 'The body must be a PatchOp message (a JSON object).')
  const schemas = member(body, 'schemas')
  if (
    !Array.isArray(schemas) ||
    !schemas.some((schema) => typeof schema === 'string' && sameName(schema, SCIM_PATCH_OP_SCHEMA))
  ) {
    throw new ScimError('invalidSyntax', `'schemas' must list ${SCIM_PATCH_OP_SCHEMA}.`)
  }
  const operations = member(body, 'Operations')
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new ScimError('invalidSyntax', "'Operations' must be a non-empty array.")
  }
  if (operations.length > MAX_PATCH_OPERATIONS) {
    throw new ScimError('invalidSyntax', `'Operations' holds more than ${MAX_PATCH_OPERATIONS} operations.`)
  }
  return operations.flatMap((operation, index) => normalize(operation, index))
}

function normalize(operation: unknown, index: number): PatchOperation[] {
  const fail: Fail = (scimType, detail) => {
    throw new ScimError(scimType, `Operations[${index}]: ${detail}`)
  }
  if (!isObject(operation)) fail('invalidSyntax', 'an operation must be an object.')
  const rawOp = member(operation, 'op')
  const op = typeof rawOp === 'string' ? rawOp.toLowerCase() : ''
  if (op !== 'add' && op !== 'remove' && op !== 'replace') fail('invalidSyntax', "'op' must be add, remove or replace.")
  const path = member(operation, 'path')
  const hasValue = Object.keys(operation).some((key) => key.toLowerCase() === 'value')
  const value = member(operation, 'value')
  const kind = op as PatchOperation['op']
  if (path === undefined) {
    // RFC 7644 §3.5.2.2: remove without a path is noTarget.
    if (kind === 'remove') fail('noTarget', "'remove' needs a 'path'.")
    if (!isObject(value)) fail('invalidSyntax', `'${kind}' without a 'path' needs an object 'value' of attributes.`)
    return expandValue(kind, value, index, fail)
  }
  if (typeof path !== 'string') fail('invalidPath', "'path' must be a string.")
  const parsed = parsePath(path, fail)
  if (kind !== 'remove' && !hasValue) fail('invalidSyntax', `'${kind}' needs a 'value'.`)
  if (resolveUserAttribute(parsed.path).kind === 'coreSchema' && !parsed.filter && kind !== 'remove' && isObject(value)) {
    return expandValue(kind, value, index, fail)
  }
  return [{ op: kind, path: parsed, ...(kind !== 'remove' ? { value } : {}), index }]
}

/** `{"op":"replace","value":{"active":false,"name.givenName":"Kkom"}}`: one operation per key. */
function expandValue(op: 'add' | 'replace', value: JsonObject, index: number, fail: Fail): PatchOperation[] {
  return Object.entries(value).flatMap(([key, item]) => {
    const path = parsePath(key, fail)
    const target = resolveUserAttribute(path.path)
    // The core schema URN as a key holds core attributes, one level down.
    if (target.kind === 'coreSchema' && !path.filter && isObject(item)) return expandValue(op, item as JsonObject, index, fail)
    return [{ op, path, value: item, index }]
  })
}

function parsePath(text: string, fail: Fail): PatchPath {
  try {
    return parsePatchPath(text)
  } catch (error) {
    if (error instanceof ScimError) fail('invalidPath', error.detail)
    throw error
  }
}

/**
 * Applies `operations` in order to `current` and returns every attribute they set. All or nothing
 * (RFC 7644 §3.5.2): the first failing operation throws ScimError and nothing is returned.
 */
export function applyUserPatch(current: ScimUserState, operations: PatchOperation[]): ScimUserChanges {
  const state: ScimUserState = { ...current }
  const changes: ScimUserChanges = {}
  const set = <K extends keyof ScimUserChanges>(key: K, value: ScimUserChanges[K]) => {
    changes[key] = value
    if (key !== 'password') Object.assign(state, { [key]: value })
  }
  for (const operation of operations) applyOperation(state, operation, set)
  return changes
}

type Setter = <K extends keyof ScimUserChanges>(key: K, value: ScimUserChanges[K]) => void

function applyOperation(state: ScimUserState, operation: PatchOperation, set: Setter): void {
  const { op, path, value } = operation
  const name = formatAttributePath(path.path)
  // A negative index: an attribute of a resource body (POST, PUT), not a PATCH operation.
  const where = operation.index >= 0 ? `Operations[${operation.index}] ('${name}')` : `'${name}'`
  const error = (scimType: ScimType, detail: string) => new ScimError(scimType, `${where}: ${detail}`)
  const fail: Fail = (scimType, detail) => {
    throw error(scimType, detail)
  }
  const target = resolveUserAttribute(path.path)
  switch (target.kind) {
    case 'ignored':
    case 'extensionSchema':
    case 'schemas':
      return
    case 'coreSchema':
    case 'unknown':
      throw error('invalidPath', 'no such attribute on User.')
    case 'readOnly':
      // Okta repeats the id in value-only replaces; the same id changes nothing.
      if (target.attribute === 'id' && op !== 'remove' && !path.filter && value === state.id) return
      throw error('mutability', `'${target.attribute}' is read-only.`)
  }
  if (path.filter && target.attribute !== 'emails') fail('invalidPath', 'a value filter applies to multi-valued attributes only.')
  const removing = op === 'remove'
  switch (target.attribute) {
    case 'username':
      if (removing || value === null) fail('invalidValue', 'userName is required and cannot be removed.')
      set('userName', nonEmptyString(value, fail))
      return
    case 'displayname':
      set('displayName', removing ? null : stringOrNull(value, fail))
      return
    case 'externalid':
      set('externalId', removing ? null : stringOrNull(value, fail))
      return
    case 'active':
      if (removing || value === null) fail('invalidValue', 'active cannot be removed; set it to true or false.')
      set('active', booleanValue(value, fail))
      return
    case 'password':
      // Removing it leaves the user without a password (sign-in through the identity provider
      // only); the users service decides whether it allows that. scim2-tester removes every
      // published optional attribute, so this must not be an error here.
      set('password', removing || value === null ? null : nonEmptyString(value, fail))
      return
    case 'name':
      applyName(target.subAttribute, removing ? null : value, set, fail)
      return
    default:
      applyEmails(state, operation, target.subAttribute, set, fail)
  }
}

const NAME_STORED = { givenname: 'givenName', familyname: 'familyName' } as const

function applyName(subAttribute: string | undefined, value: unknown, set: Setter, fail: Fail): void {
  if (subAttribute !== undefined) {
    if (Object.hasOwn(NAME_STORED, subAttribute)) {
      set(NAME_STORED[subAttribute as keyof typeof NAME_STORED], stringOrNull(value, fail))
    }
    return // formatted, middleName, honorificPrefix/Suffix: not stored
  }
  if (value === null) {
    set('givenName', null)
    set('familyName', null)
    return
  }
  if (!isObject(value)) fail('invalidValue', "'name' takes an object of sub-attributes.")
  for (const [key, item] of Object.entries(value)) {
    const sub = key.toLowerCase()
    const target = resolveUserAttribute({ attribute: 'name', subAttribute: sub })
    if (target.kind !== 'modelled')
      fail('invalidValue', `'name' has no sub-attribute '${/^[A-Za-z$]\w*$/.test(key) ? key : '?'}'.`)
    applyName(sub, item, set, fail)
  }
}

function applyEmails(
  state: ScimUserState,
  operation: PatchOperation,
  subAttribute: string | undefined,
  set: Setter,
  fail: Fail,
): void {
  const { op, path } = operation
  const sub = path.subAttribute?.toLowerCase() ?? subAttribute
  if (sub !== undefined && sub !== 'value') {
    if (!['type', 'primary', 'display'].includes(sub)) fail('invalidPath', `'emails' has no sub-attribute '${sub}'.`)
    return // the stored email is always the primary "work" email; display is not stored
  }
  if (path.filter) {
    const stored: EmailValue | null = state.email === null ? null : { value: state.email, type: 'work', primary: true }
    const matches = evaluateEmailFilter(path.filter, stored ?? { value: null, type: 'work', primary: true }, fail)
    const targetsStored = matches && (stored !== null || (op !== 'remove' && !filterMentionsValue(path.filter)))
    if (!targetsStored) {
      // A filter on the address that matches nothing, or removing the work email when there is none: noTarget.
      if (filterMentionsValue(path.filter) || (matches && op === 'remove')) fail('noTarget', 'the filter matches no email.')
      return // another type of email ("home", "other"): not stored
    }
  }
  if (op === 'remove' || operation.value === null) {
    set('email', null)
    return
  }
  if (sub === 'value') {
    set('email', nonEmptyString(operation.value, fail))
    return
  }
  const chosen = selectEmail(
    operation.value,
    { filtered: path.filter !== undefined, replacing: op === 'replace' || state.email === null },
    fail,
  )
  if (chosen !== undefined) set('email', chosen)
}

/** RFC 7643 attribute names are case-insensitive; message members are read the same way. */
function member(object: JsonObject, name: string): unknown {
  const key = Object.keys(object).find((candidate) => sameName(candidate, name))
  return key === undefined ? undefined : object[key]
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function nonEmptyString(value: unknown, fail: Fail): string {
  if (typeof value !== 'string' || value === '') fail('invalidValue', 'the value must be a non-empty string.')
  return value as string
}

function stringOrNull(value: unknown, fail: Fail): string | null {
  if (value === null) return null
  if (typeof value !== 'string') fail('invalidValue', 'the value must be a string or null.')
  return value as string
}

/** Booleans, and the "True"/"False" strings Entra sends without its SCIM-compliance flag. */
function booleanValue(value: unknown, fail: Fail): boolean {
  if (typeof value === 'boolean') return value
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true'
  return fail('invalidValue', 'the value must be true or false.')
}
