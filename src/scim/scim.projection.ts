/**
 * `attributes` and `excludedAttributes` (RFC 7644 §3.9) on User resources: which attributes a
 * response shows. `schemas` and `id` are always shown (`returned: always`). Names are
 * case-insensitive, may carry the core schema URN and name a sub-attribute (`name.givenName`,
 * `emails.value`, `meta.version`); a name the resource does not show (an attribute the service
 * does not store, `password`) selects nothing.
 */
import { ScimError } from './scim.errors'
import { parsePatchPath } from './scim.filter'
import { NAME } from './scim.filter.lexer'
import type { ScimUser } from './scim.resource'
import { resolveUserAttribute } from './scim.schema'

type Key = Exclude<keyof ScimUser, 'schemas' | 'id'>
type Selection = { key: Key; sub?: string }
export type Projection = { attributes?: Selection[]; excluded?: Selection[] }

/** Each shown attribute by its lower-cased name, with its sub-attributes. */
const SHOWN: Record<string, { key: Key; subs: Record<string, string> }> = {
  username: { key: 'userName', subs: {} },
  externalid: { key: 'externalId', subs: {} },
  displayname: { key: 'displayName', subs: {} },
  active: { key: 'active', subs: {} },
  name: { key: 'name', subs: { givenname: 'givenName', familyname: 'familyName' } },
  emails: { key: 'emails', subs: { value: 'value', type: 'type', primary: 'primary' } },
  meta: {
    key: 'meta',
    subs: {
      resourcetype: 'resourceType',
      created: 'created',
      lastmodified: 'lastModified',
      location: 'location',
      version: 'version',
    },
  },
}

/** One attribute name: an optional schema URN, a name, an optional sub-attribute (the filter grammar's). */
const ATTRIBUTE_NAME = `(?:[A-Za-z][A-Za-z0-9._:-]*:)?${NAME}(?:\\.(?:${NAME}|\\$ref))?`
/** `attributes` and `excludedAttributes`: names separated by commas (spaces allowed around them). The document publishes it. */
export const ATTRIBUTE_LIST_PATTERN = `^[ ]*(?:${ATTRIBUTE_NAME})?[ ]*(?:,[ ]*(?:${ATTRIBUTE_NAME})?[ ]*)*$`
/** The longest parameter read: every attribute and sub-attribute of User fits, most with their schema URN. */
export const ATTRIBUTE_LIST_MAX_LENGTH = 256

/** Reads the two query parameters; a name that is not an attribute path is 400 `invalidValue`. */
export function readProjection(query: { attributes?: string | undefined; excludedAttributes?: string | undefined }): Projection {
  const { attributes, excludedAttributes } = query
  return {
    ...(attributes !== undefined ? { attributes: selections('attributes', attributes) } : {}),
    ...(excludedAttributes !== undefined ? { excluded: selections('excludedAttributes', excludedAttributes) } : {}),
  }
}

function selections(parameter: string, text: string): Selection[] {
  if (text.length > ATTRIBUTE_LIST_MAX_LENGTH) {
    throw new ScimError('invalidValue', `'${parameter}' is longer than ${ATTRIBUTE_LIST_MAX_LENGTH} characters.`)
  }
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
  return names.flatMap((name) => {
    const path = parsedName(parameter, name)
    const target = resolveUserAttribute(path)
    const attribute = target.kind === 'modelled' || target.kind === 'readOnly' ? target.attribute : undefined
    const shown = attribute !== undefined && Object.hasOwn(SHOWN, attribute) ? SHOWN[attribute] : undefined
    if (!shown) return []
    const subName = path.subAttribute?.toLowerCase()
    if (subName === undefined) return [{ key: shown.key }]
    const sub = Object.hasOwn(shown.subs, subName) ? shown.subs[subName] : undefined
    return sub === undefined ? [] : [{ key: shown.key, sub }]
  })
}

function parsedName(parameter: string, name: string) {
  try {
    const parsed = parsePatchPath(name)
    if (parsed.filter === undefined && parsed.subAttribute === undefined) return parsed.path
  } catch (error) {
    if (!(error instanceof ScimError)) throw error
  }
  throw new ScimError(
    'invalidValue',
    `'${parameter}' takes attribute names such as userName or name.givenName, separated by commas.`,
  )
}

/** The resource as the projection shows it. */
export function project(resource: ScimUser, { attributes, excluded }: Projection): ScimUser {
  let shown: ScimUser = resource
  if (attributes) {
    const picked: Record<string, unknown> = { schemas: resource.schemas, id: resource.id }
    for (const { key, sub } of attributes) picked[key] = pick(picked[key], resource[key], sub)
    shown = withoutEmpty(picked) as ScimUser
  }
  if (excluded) {
    const kept: Record<string, unknown> = { ...shown }
    for (const { key, sub } of excluded) kept[key] = sub === undefined ? undefined : omit(kept[key], sub)
    shown = withoutEmpty(kept) as ScimUser
  }
  return shown
}

/** `value` (or its `sub`), added to what is already picked of the same attribute. */
function pick(already: unknown, value: unknown, sub: string | undefined): unknown {
  if (sub === undefined || value === undefined) return sub === undefined ? value : already
  if (Array.isArray(value)) {
    const earlier = Array.isArray(already) ? already : []
    return value.map((item, i) => ({ ...(earlier[i] as object | undefined), ...subOf(item, sub) }))
  }
  return { ...(already as object | undefined), ...subOf(value, sub) }
}

function subOf(value: unknown, sub: string): Record<string, unknown> {
  const member = (value as Record<string, unknown>)[sub]
  return member === undefined ? {} : { [sub]: member }
}

function omit(value: unknown, sub: string): unknown {
  if (Array.isArray(value)) return value.map((item) => omit(item, sub))
  if (typeof value !== 'object' || value === null) return value
  const { [sub]: _dropped, ...rest } = value as Record<string, unknown>
  return rest
}

/** Drops attributes left undefined or empty (an object without members, a list of empty objects). */
function withoutEmpty(resource: Record<string, unknown>): Record<string, unknown> {
  const empty = (value: unknown): boolean =>
    value === undefined ||
    (Array.isArray(value) && value.every(empty)) ||
    (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)
  return Object.fromEntries(Object.entries(resource).filter(([, value]) => !empty(value)))
}
