/**
 * Translates a parsed SCIM filter on Users into ONE MongoDB query object on the stored document.
 * Plain objects and RegExps only (no `mongodb` import): the two things only the storage layer
 * knows are hooks the repository passes in: how an `id` becomes an `_id` (an ObjectId), and which
 * documents count as `active` (the lifecycle's rule: a disabled user whose `disabledUntil` has
 * passed is active). A filter that can match nobody or everybody says so explicitly
 * (`matches: 'none' | 'all'`), so an empty `{}` never scans the collection by surprise.
 *
 * Supported: eq, ne, co, sw, ew, pr, and, or, not on userName, externalId, emails / emails.value /
 * emails[...] (type, primary, value), displayName, active, id. Anything else: ScimError
 * `invalidFilter`. Matching follows RFC 7643's caseExact: userName, emails.value and displayName
 * compare case-insensitively, externalId and id exactly.
 */
import { ScimError } from './scim.errors'
import type { CompareOperator, FilterNode, FilterValue } from './scim.filter'
import { type AttributePath, formatAttributePath, resolveUserAttribute } from './scim.schema'

export type MongoQuery = { [field: string]: unknown }

/** The translation: a query to run, or the certainty that no user or every user matches. */
export type ScimUserQuery = { matches: 'none' } | { matches: 'all' } | { matches: 'some'; query: MongoQuery }

/** Where the stored document keeps what each filterable SCIM attribute means. */
export type ScimUserFilterFields = {
  /** Lower-cased username (the unique key): userName compares case-insensitively. */
  userName: string
  /** Lower-cased email (the unique key): the one stored email is the user's primary, "work" email. */
  email: string
  /** Stored as sent; compared exactly (caseExact true). */
  externalId: string
  /** Stored with its case; compared case-insensitively (caseExact false) by an `i` regex. */
  displayName: string
  /** The query for the user whose id is `hex` (24 lower-case hex digits), e.g. `{ _id: new ObjectId(hex) }`. */
  id: (hex: string) => MongoQuery
  /** The query for users whose SCIM `active` equals `active`: the users storage's own rule (StoredQueryTerms.status). */
  active: (active: boolean) => MongoQuery
}

/** The stored shape's field names (users.repository.ts); the hooks come from the repository. */
export const STORED_USER_FIELDS = {
  userName: 'usernameKey',
  email: 'emailKey',
  externalId: 'externalId',
  displayName: 'displayName',
} as const satisfies Partial<ScimUserFilterFields>

/** Translates `filter` (from parseFilter) into one query; throws ScimError `invalidFilter` for what is not supported. */
export function scimUserQuery(filter: FilterNode, fields: ScimUserFilterFields): ScimUserQuery {
  const result = translate(filter, fields)
  if (result === true) return { matches: 'all' }
  if (result === false) return { matches: 'none' }
  return { matches: 'some', query: result }
}

/** A query, or a constant the combinators fold away. */
type Condition = MongoQuery | boolean

const ID = /^[0-9a-f]{24}$/
const SUPPORTED = 'userName, externalId, emails.value, emails[type eq "work"].value, displayName, active, id'

function translate(node: FilterNode, fields: ScimUserFilterFields): Condition {
  switch (node.op) {
    case 'and':
      return and(node.filters.map((filter) => translate(filter, fields)))
    case 'or':
      return or(node.filters.map((filter) => translate(filter, fields)))
    case 'not':
      return not(translate(node.filter, fields))
    case 'valuePath':
      return valuePath(node.path, node.filter, fields)
    default:
      return attributeCondition(node, fields)
  }
}

type AttributeNode = Extract<FilterNode, { path: AttributePath }> & { op: CompareOperator | 'pr' }

function attributeCondition(node: AttributeNode, fields: ScimUserFilterFields): Condition {
  const target = resolveUserAttribute(node.path)
  const key = target.kind === 'modelled' ? `${target.attribute}.${target.subAttribute ?? ''}` : target.kind
  switch (key) {
    case 'username.':
      return stringCondition(node, fields.userName, 'keyed')
    case 'externalid.':
      return stringCondition(node, fields.externalId, 'exact')
    case 'displayname.':
      return stringCondition(node, fields.displayName, 'insensitive')
    case 'emails.':
    case 'emails.value':
    case 'emails.type':
    case 'emails.primary':
    case 'emails.display':
      // Outside brackets, `emails.type eq "work"` asks whether some email is of type work.
      return and([
        present(fields.email),
        emailCondition(node, target.kind === 'modelled' ? target.subAttribute : undefined, fields),
      ])
    case 'active.':
      return activeCondition(node, fields)
    case 'readOnly':
      if (target.kind === 'readOnly' && target.attribute === 'id' && node.path.subAttribute === undefined) {
        return idCondition(node, fields)
      }
  }
  throw new ScimError(
    'invalidFilter',
    `Filtering on '${formatAttributePath(node.path)}' is not supported; filterable: ${SUPPORTED}.`,
  )
}

/** `emails[...]`: the stored email is one value whose type is "work" and which is primary. */
function valuePath(path: AttributePath, filter: FilterNode, fields: ScimUserFilterFields): Condition {
  const target = resolveUserAttribute(path)
  if (target.kind !== 'modelled' || target.attribute !== 'emails' || target.subAttribute !== undefined) {
    throw new ScimError('invalidFilter', `Value filters apply to 'emails' only, not to '${formatAttributePath(path)}'.`)
  }
  const inner = (node: FilterNode): Condition => {
    switch (node.op) {
      case 'and':
        return and(node.filters.map(inner))
      case 'or':
        return or(node.filters.map(inner))
      case 'not':
        return not(inner(node.filter))
      case 'valuePath':
        throw new ScimError('invalidFilter', 'Value filters cannot nest.')
      default: {
        if (node.path.schema !== undefined || node.path.subAttribute !== undefined) {
          throw new ScimError('invalidFilter', `'${formatAttributePath(node.path)}' is not a sub-attribute of 'emails'.`)
        }
        return emailCondition(node, node.path.attribute.toLowerCase(), fields)
      }
    }
  }
  return and([present(fields.email), inner(filter)])
}

function emailCondition(node: AttributeNode, subAttribute: string | undefined, fields: ScimUserFilterFields): Condition {
  switch (subAttribute) {
    case undefined:
    case 'value':
      return stringCondition(node, fields.email, 'keyed')
    case 'type':
      return constantCondition(node, 'work', 'emails.type')
    case 'primary':
      return constantCondition(node, true, 'emails.primary')
    case 'display':
      return node.op === 'ne'
    default:
      throw new ScimError('invalidFilter', `'emails' has no sub-attribute '${subAttribute}'.`)
  }
}

type Matching = 'keyed' | 'exact' | 'insensitive'

function stringCondition(node: AttributeNode, field: string, matching: Matching): Condition {
  if (node.op === 'pr') return present(field)
  const name = formatAttributePath(node.path)
  const value = stringValue(node.value, name)
  const text = matching === 'keyed' ? value.toLowerCase() : value
  const flags = matching === 'insensitive' ? 'i' : ''
  switch (node.op) {
    case 'eq':
      return { [field]: matching === 'insensitive' ? new RegExp(`^${escapeRegex(text)}$`, flags) : text }
    case 'ne':
      return not(stringCondition({ ...node, op: 'eq' }, field, matching))
    case 'co':
      return { [field]: new RegExp(escapeRegex(text), flags) }
    case 'sw':
      return { [field]: new RegExp(`^${escapeRegex(text)}`, flags) }
    case 'ew':
      return { [field]: new RegExp(`${escapeRegex(text)}$`, flags) }
    default:
      throw unsupportedOperator(node.op, name, 'eq, ne, co, sw, ew, pr')
  }
}

function activeCondition(node: AttributeNode, fields: ScimUserFilterFields): Condition {
  if (node.op === 'pr') return true
  if (node.op !== 'eq' && node.op !== 'ne') throw unsupportedOperator(node.op, 'active', 'eq, ne, pr')
  if (typeof node.value !== 'boolean') throw new ScimError('invalidFilter', "'active' compares with true or false.")
  return fields.active(node.op === 'eq' ? node.value : !node.value)
}

function idCondition(node: AttributeNode, fields: ScimUserFilterFields): Condition {
  if (node.op === 'pr') return true
  if (node.op !== 'eq' && node.op !== 'ne') throw unsupportedOperator(node.op, 'id', 'eq, ne, pr')
  const value = stringValue(node.value, 'id')
  // Ids are 24 lower-case hex digits (caseExact): anything else is no user's id.
  const equal = ID.test(value) ? fields.id(value) : false
  return node.op === 'eq' ? equal : not(equal)
}

/** An attribute the service stores as a constant (the one email is "work" and primary). */
function constantCondition(node: AttributeNode, stored: string | boolean, name: string): boolean {
  if (node.op === 'pr') return true
  if (typeof stored === 'boolean') {
    if (node.op !== 'eq' && node.op !== 'ne') throw unsupportedOperator(node.op, name, 'eq, ne, pr')
    if (typeof node.value !== 'boolean') throw new ScimError('invalidFilter', `'${name}' compares with true or false.`)
    return (node.value === stored) === (node.op === 'eq')
  }
  const value = stringValue(node.value, name).toLowerCase()
  switch (node.op) {
    case 'eq':
      return stored === value
    case 'ne':
      return stored !== value
    case 'co':
      return stored.includes(value)
    case 'sw':
      return stored.startsWith(value)
    case 'ew':
      return stored.endsWith(value)
    default:
      throw unsupportedOperator(node.op, name, 'eq, ne, co, sw, ew, pr')
  }
}

function stringValue(value: FilterValue, name: string): string {
  if (typeof value !== 'string') throw new ScimError('invalidFilter', `'${name}' compares with a quoted string.`)
  return value
}

function unsupportedOperator(op: string, name: string, supported: string): ScimError {
  return new ScimError('invalidFilter', `The operator '${op}' is not supported on '${name}'; supported: ${supported}.`)
}

function present(field: string): MongoQuery {
  return { [field]: { $exists: true } }
}

function and(conditions: Condition[]): Condition {
  if (conditions.includes(false)) return false
  const queries = conditions.filter((condition): condition is MongoQuery => condition !== true)
  // A presence test is implied by a string or regex match on the same field: drop it.
  const kept = queries.filter(
    (query) => !isPresence(query) || !queries.some((other) => matchesField(other, presenceField(query))),
  )
  if (kept.length === 0) return true
  const [only] = kept
  return kept.length === 1 && only ? only : { $and: kept }
}

function or(conditions: Condition[]): Condition {
  if (conditions.includes(true)) return true
  const queries = conditions.filter((condition): condition is MongoQuery => condition !== false)
  if (queries.length === 0) return false
  const [only] = queries
  return queries.length === 1 && only ? only : { $or: queries }
}

function not(condition: Condition): Condition {
  return typeof condition === 'boolean' ? !condition : { $nor: [condition] }
}

function presenceField(query: MongoQuery): string {
  return Object.keys(query)[0] ?? ''
}

function isPresence(query: MongoQuery): boolean {
  const [field, ...others] = Object.keys(query)
  const value = field !== undefined && others.length === 0 ? query[field] : undefined
  return (
    typeof value === 'object' && value !== null && !(value instanceof RegExp) && (value as { $exists?: unknown }).$exists === true
  )
}

function matchesField(query: MongoQuery, field: string): boolean {
  const keys = Object.keys(query)
  const value = query[field]
  return keys.length === 1 && (typeof value === 'string' || value instanceof RegExp)
}

/**
 * Escapes `text` for a regular expression that MongoDB (PCRE), FerretDB (Go's RE2) and JavaScript
 * all read as the literal text: every metacharacter gets a backslash, and control characters
 * become `\xHH` (a NUL could not even travel in BSON's C-string regex pattern).
 */
export function escapeRegex(text: string): string {
  let escaped = ''
  for (const c of text) {
    const code = c.charCodeAt(0)
    if (code < 0x20 || code === 0x7f) escaped += `\\x${code.toString(16).padStart(2, '0')}`
    else if (REGEX_METACHARACTERS.has(c)) escaped += `\\${c}`
    else escaped += c
  }
  return escaped
}

const REGEX_METACHARACTERS = new Set('.*+?^$()[]{}|\\')
