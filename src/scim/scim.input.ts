/**
 * SCIM attributes (what scim.resource.ts and scim.patch.ts read) into users service input, each
 * value checked by the users' own schemas (the same rules as /v1: no copy here) and refused with
 * SCIM's `invalidValue`. Nothing here decides what a change is or who may make it: the service does.
 */
import type { z } from '@hono/zod-openapi'
import { ExternalIdSchema, FamilyNameSchema, GivenNameSchema } from '../users/users.fields'
import { DisplayNameSchema, EmailSchema, PasswordSchema, UsernameSchema } from '../users/users.schemas'
import type { CreateInput, UpdateInput } from '../users/users.service'
import { ScimError } from './scim.errors'
import type { ScimUserChanges } from './scim.patch'

type Text = 'userName' | 'email' | 'displayName' | 'givenName' | 'familyName' | 'externalId' | 'password'

/** Each SCIM text attribute: the users schema that checks it, and its SCIM name for error details. */
const RULES: Record<Text, { schema: z.ZodType<string, string>; name: string }> = {
  userName: { schema: UsernameSchema, name: 'userName' },
  email: { schema: EmailSchema, name: 'emails.value' },
  displayName: { schema: DisplayNameSchema, name: 'displayName' },
  givenName: { schema: GivenNameSchema, name: 'name.givenName' },
  familyName: { schema: FamilyNameSchema, name: 'name.familyName' },
  externalId: { schema: ExternalIdSchema, name: 'externalId' },
  password: { schema: PasswordSchema, name: 'password' },
}

/** The value as the users schemas have it (trimmed where they trim), or 400 invalidValue naming the rule, never the value. */
function checked(attribute: Text, value: string): string {
  const rule = RULES[attribute]
  const result = rule.schema.safeParse(value)
  if (result.success) return result.data
  throw new ScimError('invalidValue', `'${rule.name}' ${result.error.issues[0]?.message ?? 'is not valid'}.`)
}

const optional = (attribute: Text, value: string | null) => (value === null ? null : checked(attribute, value))

function required(changes: ScimUserChanges): { username: string; email: string } {
  if (changes.userName === undefined) throw new ScimError('invalidValue', "'userName' is required.")
  if (changes.email === undefined || changes.email === null) {
    throw new ScimError(
      'invalidValue',
      "'emails' is required: this service keeps one address per user (the primary, else the work one).",
    )
  }
  return { username: checked('userName', changes.userName), email: checked('email', changes.email) }
}

/** POST /Users: a new user; `active` absent is an active user. */
export function createInput(changes: ScimUserChanges): CreateInput {
  const input: CreateInput = required(changes)
  for (const attribute of ['displayName', 'givenName', 'familyName', 'externalId', 'password'] as const) {
    const value = changes[attribute]
    if (typeof value === 'string') input[attribute] = checked(attribute, value)
  }
  if (changes.active !== undefined) input.status = changes.active ? 'active' : 'disabled'
  return input
}

/**
 * PUT /Users/{id}: the resource replaced (RFC 7644 §3.5.1). Optional attributes it leaves out are
 * cleared; the status and the password stay unless it sends them (`active` absent is not a
 * decision to re-enable or disable anyone; a write-only password cannot be sent back).
 */
export function replaceInput(changes: ScimUserChanges): UpdateInput {
  const input: UpdateInput = required(changes)
  for (const attribute of ['displayName', 'givenName', 'familyName', 'externalId'] as const) {
    input[attribute] = optional(attribute, changes[attribute] ?? null)
  }
  if (changes.password !== undefined) input.password = optional('password', changes.password)
  if (changes.active !== undefined) input.status = changes.active ? 'active' : 'disabled'
  return input
}

/** PATCH /Users/{id}: the attributes the operations set, nothing else. */
export function patchInput(changes: ScimUserChanges): UpdateInput {
  const input: UpdateInput = {}
  if (changes.userName !== undefined) input.username = checked('userName', changes.userName)
  if (changes.email === null) {
    throw new ScimError('invalidValue', "'emails' cannot be removed: this service keeps one address per user.")
  }
  if (changes.email !== undefined) input.email = checked('email', changes.email)
  for (const attribute of ['displayName', 'givenName', 'familyName', 'externalId', 'password'] as const) {
    const value = changes[attribute]
    if (value !== undefined) input[attribute] = optional(attribute, value)
  }
  if (changes.active !== undefined) input.status = changes.active ? 'active' : 'disabled'
  return input
}
