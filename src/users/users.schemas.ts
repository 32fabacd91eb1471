import { z } from '@hono/zod-openapi'
import { wholeNumberParameter } from '../http/query-number'
import {
  CREATE_COMBINATIONS_DOCUMENTED,
  CREATE_V1_1_FIELDS,
  checkCreateCombinations,
  checkUpdateCombinations,
  UPDATE_COMBINATIONS_DOCUMENTED,
  UPDATE_V1_1_FIELDS,
  USER_V1_1_FIELDS,
} from './users.fields'
import {
  checkMetadata,
  isPlainObject,
  isWellFormed,
  type JsonObject,
  metadataJsonSchema,
  WELL_FORMED_MESSAGE,
} from './users.metadata'
import { NOT_BLANK_PATTERN, nameText, TRIMMED } from './users.text'

/** The nouns of the contract (API.md), each registered as a named OpenAPI component. */

export const ROLES = ['user', 'moderator', 'admin'] as const
export const STATUSES = ['active', 'disabled'] as const
export const SORTS = ['createdAt', '-createdAt', 'username', '-username'] as const

export { NOT_BLANK_PATTERN }

export const UserIdSchema = z
  .string()
  .regex(/^[0-9a-f]{24}$/, 'must be a user id: 24 lower-case hexadecimal characters')
  .openapi({ example: '665f1c2e9b1e8a3d4c5b6a79' })

/**
 * Usernames (API.md v1.1): what identity providers send as SCIM userName fits, email addresses
 * and Entra UPNs (`alice_contoso.com#EXT#@fabrikam.onmicrosoft.com`) included. The characters are
 * those of an address's dot-atom form (RFC 5322 atext, `.` and `@`) less `/`, `?` and `%`: no
 * whitespace, control, quote, bracket or backslash, and a username is one path segment once
 * percent-encoded. Not only dots (`.` and `..` are path segments a URL resolves away). ASCII
 * only: case-insensitive uniqueness compares lower-cased ASCII, with no Unicode case folding or
 * normalization to disagree about.
 */
const USERNAME_CHARACTER = "[A-Za-z0-9!#$&'*+=^_`{|}~.@-]"
const USERNAME_NOT_DOT = "[A-Za-z0-9!#$&'*+=^_`{|}~@-]"
export const USERNAME_PATTERN = `^${USERNAME_CHARACTER}*${USERNAME_NOT_DOT}${USERNAME_CHARACTER}*$`
export const USERNAME_MAX_LENGTH = 254

export const UsernameSchema = z
  .string()
  .max(USERNAME_MAX_LENGTH, `must be at most ${USERNAME_MAX_LENGTH} characters`)
  .regex(
    new RegExp(USERNAME_PATTERN),
    "must be 1-254 characters of letters, digits and !#$&'*+-=^_`{|}~.@ (those of email addresses and UPNs), not only dots",
  )
  .openapi({ example: 'alice.w' })

// The document states the address syntax zod checks (its `email` regex), with the surrounding
// whitespace that trimming removes.
const EMAIL_PATTERN = `^[${TRIMMED}]*${z.regexes.email.source.slice(1, -1)}[${TRIMMED}]*$`

export const EmailSchema = z
  .string()
  // The limit applies to what is sent, before trimming, as the document's maxLength does.
  .max(254, 'must be at most 254 characters')
  .trim()
  // zod's own email regex (what `.email()` checks), as a regex check: the document then says
  // `pattern`, not `format: email`, which a strict checker refuses for the surrounding whitespace
  // that trimming removes (a Schemathesis finding on the compatibility routes).
  .regex(z.regexes.email, 'must be a valid email address')
  .openapi({ pattern: EMAIL_PATTERN, example: 'Alice@Example.com' })

export const DisplayNameSchema = nameText(100, 'Alice W.')

export const PasswordSchema = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(128, 'must be at most 128 characters')
  // Lone surrogates would all hash as U+FFFD: two different passwords, one hash.
  .refine(isWellFormed, WELL_FORMED_MESSAGE)
  .openapi({ format: 'password', writeOnly: true, example: 'correct horse battery staple' })

// A custom check rather than z.record: z.record rebuilds the object and silently drops a
// top-level `__proto__` key, which must be refused, not ignored. This checks the parsed JSON as is.
export const MetadataSchema = z
  .custom<JsonObject>(isPlainObject, 'must be a JSON object')
  .superRefine(checkMetadata)
  .openapi('Metadata', {
    // Plain JSON Schema, which zod-to-openapi's SchemaObject types cannot follow through the recursion.
    ...(metadataJsonSchema() as object),
    description:
      'Application-owned JSON object: at most 16 KiB serialized and 5 levels deep; keys 1-64 characters of ' +
      '[A-Za-z0-9_-] (not __proto__, constructor or prototype); no array directly inside an array.',
    example: { plan: 'pro', prefs: { theme: 'dark' } },
  })

export const RoleSchema = z.enum(ROLES).openapi('Role')
export const StatusSchema = z.enum(STATUSES).openapi('Status')

/** On a deleted user only, as `users:admin` reads it (includeDeleted=true, deleted=true). */
const DeletionFields = {
  deletedAt: z.iso
    .datetime()
    .optional()
    .openapi({ description: 'When the user was deleted; only on a deleted user.', example: '2026-11-30T08:00:00.000Z' }),
  purgeAt: z.iso.datetime().optional().openapi({
    description: 'When the deleted user will be purged for good (USER_RETENTION_DAYS after deletedAt); only on a deleted user.',
    example: '2026-12-30T08:00:00.000Z',
  }),
}

export const UserSchema = z
  .object({
    id: UserIdSchema,
    username: z.string().openapi({ example: 'alice.w' }),
    email: z.string().openapi({ example: 'Alice@Example.com' }),
    displayName: z.string().optional().openapi({ example: 'Alice W.' }),
    metadata: z.record(z.string(), z.unknown()).openapi({ example: { plan: 'pro', prefs: { theme: 'dark' } } }),
    role: RoleSchema,
    status: StatusSchema,
    hasPassword: z.boolean().openapi({ description: 'Whether a password is set. The password itself is never returned.' }),
    createdAt: z.iso.datetime().openapi({ example: '2026-11-25T19:00:00.000Z' }),
    updatedAt: z.iso.datetime().openapi({ example: '2026-11-25T19:00:00.000Z' }),
    version: z
      .number()
      .int()
      .min(1)
      .openapi({ description: 'Starts at 1, +1 on every change; the ETag is "<version>".', example: 1 }),
    ...USER_V1_1_FIELDS,
    ...DeletionFields,
  })
  .openapi('User')

export type User = z.infer<typeof UserSchema>

export const CreateUserSchema = z
  .strictObject({
    username: UsernameSchema,
    email: EmailSchema,
    displayName: DisplayNameSchema.optional(),
    password: PasswordSchema.optional(),
    metadata: MetadataSchema.optional(),
    role: RoleSchema.optional(),
    status: StatusSchema.optional(),
    ...CREATE_V1_1_FIELDS,
  })
  .superRefine(checkCreateCombinations)
  .openapi('CreateUser', CREATE_COMBINATIONS_DOCUMENTED)

export const UpdateUserSchema = z
  .strictObject({
    username: UsernameSchema.optional(),
    email: EmailSchema.optional(),
    displayName: DisplayNameSchema.nullable().optional().openapi({ description: '`null` removes it.' }),
    password: PasswordSchema.optional(),
    metadata: MetadataSchema.nullable()
      .optional()
      // Spelled out: the nullable wrapper otherwise inherits the component's `type: object` and
      // the document would refuse the `null` the service accepts (found by Schemathesis).
      .openapi({
        type: ['object', 'null'],
        description: 'Merged key by key (RFC 7396): `null` removes a key; `null` for the whole object empties it.',
      }),
    role: RoleSchema.optional(),
    status: StatusSchema.optional(),
    ...UPDATE_V1_1_FIELDS,
  })
  .superRefine(checkUpdateCombinations)
  .refine((patch) => Object.keys(patch).length > 0, {
    message: 'must change at least one field',
    // Only meaningful when nothing else is wrong: `{"version": 9}` is an unknown field, not an empty patch.
    when: (payload) => payload.issues.length === 0,
  })
  // minProperties states the refine above in the document (found by Schemathesis).
  .openapi('UpdateUser', { description: 'JSON merge patch (RFC 7396).', minProperties: 1, ...UPDATE_COMBINATIONS_DOCUMENTED })

export type UpdateUserInput = z.output<typeof UpdateUserSchema>

export const UserListSchema = z
  .object({
    items: z.array(UserSchema),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
    total: z.number().int().optional().openapi({ description: 'Present when includeTotal=true.' }),
  })
  .openapi('UserList')

export const ListUsersQuerySchema = z.strictObject({
  role: RoleSchema.optional(),
  status: StatusSchema.optional(),
  q: z
    .string()
    .max(254)
    // Only characters a username or an email can contain: anything else matches nothing anyway,
    // and some (NUL) cannot even be sent to MongoDB inside a regex.
    .regex(
      new RegExp(`^${USERNAME_CHARACTER}+$`),
      "must be the start of a username or email: letters, digits and !#$&'*+-=^_`{|}~.@",
    )
    .optional()
    .openapi({ description: 'Case-insensitive prefix of the username or the email.', example: 'ali' }),
  sort: z.enum(SORTS).default('-createdAt').openapi({ description: '`_id` breaks ties.' }),
  limit: wholeNumberParameter({ min: 1, max: 100, default: 20 }),
  cursor: z.string().min(1).max(1024).optional().openapi({ description: 'Opaque; from a previous nextCursor.' }),
  includeTotal: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true')
    .openapi({ description: 'Adds `total`, the count of every match.' }),
  deleted: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true')
    .openapi({
      description:
        '`true` lists deleted users only (not yet purged), with `deletedAt` and `purgeAt`; needs users:admin. Same filters, sorts and cursors.',
    }),
})

export type ListUsersQuery = z.output<typeof ListUsersQuerySchema>
