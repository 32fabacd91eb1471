/**
 * The `emails` part of SCIM PATCH: the service stores one email, presented as the user's primary
 * email of type "work" (the mapping API.md gives). A path filter such as `emails[type eq "work"]`
 * is evaluated against that one value; other types ("home", "other") are not stored.
 */
import type { ScimType } from './scim.errors'
import type { FilterNode } from './scim.filter'

/** The stored email as a multi-valued `emails` element; `value` null when the user has none yet. */
export type EmailValue = { value: string | null; type: 'work'; primary: true }

type Fail = (scimType: ScimType, detail: string) => never

/** Whether `filter` (a PATCH path's value filter) holds for `email`. */
export function evaluateEmailFilter(filter: FilterNode, email: EmailValue, fail: Fail): boolean {
  switch (filter.op) {
    case 'and':
      return filter.filters.every((inner) => evaluateEmailFilter(inner, email, fail))
    case 'or':
      return filter.filters.some((inner) => evaluateEmailFilter(inner, email, fail))
    case 'not':
      return !evaluateEmailFilter(filter.filter, email, fail)
    case 'valuePath':
      return fail('invalidPath', 'value filters cannot nest.')
  }
  if (filter.path.schema !== undefined || filter.path.subAttribute !== undefined) {
    return fail('invalidPath', 'a value filter names sub-attributes of emails: value, type, primary, display.')
  }
  const attribute = filter.path.attribute.toLowerCase()
  const stored =
    attribute === 'value' ? email.value : attribute === 'type' ? email.type : attribute === 'primary' ? email.primary : null
  if (!['value', 'type', 'primary', 'display'].includes(attribute)) {
    return fail('invalidPath', `'emails' has no sub-attribute '${filter.path.attribute}'.`)
  }
  if (filter.op === 'pr') return stored !== null
  if (attribute === 'primary') {
    if (typeof filter.value !== 'boolean' || (filter.op !== 'eq' && filter.op !== 'ne')) {
      return fail('invalidFilter', "'primary' compares with eq or ne and true or false.")
    }
    return (stored === filter.value) === (filter.op === 'eq')
  }
  if (typeof filter.value !== 'string') return fail('invalidFilter', `'${attribute}' compares with a quoted string.`)
  // emails.value and emails.type are caseExact false (RFC 7643 §4.1.2).
  const actual = typeof stored === 'string' ? stored.toLowerCase() : null
  const expected = filter.value.toLowerCase()
  switch (filter.op) {
    case 'eq':
      return actual === expected
    case 'ne':
      return actual !== expected
    case 'co':
      return actual?.includes(expected) ?? false
    case 'sw':
      return actual?.startsWith(expected) ?? false
    case 'ew':
      return actual?.endsWith(expected) ?? false
    default:
      return fail('invalidFilter', `the operator '${filter.op}' is not supported in a path filter.`)
  }
}

/** Whether the filter selects by address (`value`), not only by type or primary. */
export function filterMentionsValue(filter: FilterNode): boolean {
  switch (filter.op) {
    case 'and':
    case 'or':
      return filter.filters.some(filterMentionsValue)
    case 'not':
      return filterMentionsValue(filter.filter)
    case 'valuePath':
      return false
    default:
      return filter.path.attribute.toLowerCase() === 'value'
  }
}

/**
 * The address to store from an `emails` value: with a path filter, the object's `value`; else,
 * from the list, the entry marked primary, else the one of type "work", else (when the whole list
 * is replaced, or the user has no email yet) the first. `undefined`: nothing to store (only other
 * types added); `null`: the list was emptied.
 */
export function selectEmail(
  value: unknown,
  how: { filtered: boolean; replacing: boolean },
  fail: Fail,
): string | null | undefined {
  if (how.filtered) {
    if (!isObject(value)) return fail('invalidValue', 'the value must be an email object.')
    const address = member(value, 'value')
    return address === undefined ? undefined : addressOf(address, fail)
  }
  const entries = Array.isArray(value) ? value : [value]
  if (entries.length === 0) return how.replacing ? null : undefined
  const emails = entries.map((entry) => {
    if (!isObject(entry)) return fail('invalidValue', "'emails' takes a list of email objects.")
    return { value: addressOf(member(entry, 'value'), fail), type: member(entry, 'type'), primary: member(entry, 'primary') }
  })
  const primary = emails.find(
    (email) => email.primary === true || (typeof email.primary === 'string' && /^true$/i.test(email.primary)),
  )
  const work = emails.find((email) => typeof email.type === 'string' && email.type.toLowerCase() === 'work')
  return (primary ?? work ?? (how.replacing ? emails[0] : undefined))?.value
}

function addressOf(value: unknown, fail: Fail): string {
  if (typeof value !== 'string' || value === '') return fail('invalidValue', "an email's 'value' must be a non-empty string.")
  return value
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function member(object: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(object).find((candidate) => candidate.toLowerCase() === name)
  return key === undefined ? undefined : object[key]
}
