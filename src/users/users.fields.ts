import { z } from '@hono/zod-openapi'
import { formatOf, PASSWORD_HASH_MAX_LENGTH, PASSWORD_HASH_PATTERN, whyRefused } from './passwords.formats'
import { isWellFormed, WELL_FORMED_MESSAGE } from './users.metadata'
import { nameText, TRIMMED, UNSAFE } from './users.text'

// v1.1 fields (API.md "User: new fields"). givenName and familyName follow displayName's rules.
export const GivenNameSchema = nameText(100, 'Alice')
export const FamilyNameSchema = nameText(100, 'Wong')
const DisabledReasonSchema = nameText(200, 'chargeback review')

// Compared exactly (no trimming or case folding): it is another system's key. So a value that
// only differs by surrounding whitespace is refused rather than silently made a different key.
const EXTERNAL_ID_PATTERN = `^[^${UNSAFE}${TRIMMED}](?:[^${UNSAFE}]*[^${UNSAFE}${TRIMMED}])?$`
const EXTERNAL_ID = new RegExp(EXTERNAL_ID_PATTERN)
export const ExternalIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  // A refine rather than .regex, so an empty value gets one issue (the min's), not two.
  .refine(
    (value) => value.length === 0 || EXTERNAL_ID.test(value),
    'must not contain control characters or begin or end with whitespace',
  )
  .refine(isWellFormed, WELL_FORMED_MESSAGE)
  .openapi({
    pattern: EXTERNAL_ID_PATTERN,
    description: "The provisioning system's id for this user (SCIM externalId): unique, compared exactly.",
    example: '00u1abcd2EFGH3ijk4l5',
  })

// UTC only, as every time the API returns: an offset could name a time past year 9999, which no
// ISO string of the document's format can say back.
const UTC_DATE_TIME = z.iso.datetime({ message: 'must be a UTC date-time such as 2026-12-07T00:00:00Z' })
const DisabledUntilSchema = UTC_DATE_TIME.transform((value) => new Date(value).toISOString()).openapi({
  // Stated: the document would otherwise say only `format: date-time`, which allows offsets.
  pattern: z.toJSONSchema(UTC_DATE_TIME).pattern as string,
  description: 'Until when the user is disabled (a future time); only with status "disabled". Needs users:admin.',
  example: '2026-12-07T00:00:00.000Z',
})

const PasswordHashSchema = z
  .string()
  .max(PASSWORD_HASH_MAX_LENGTH, `must be at most ${PASSWORD_HASH_MAX_LENGTH} characters`)
  .superRefine((value, ctx) => {
    if (value.length <= PASSWORD_HASH_MAX_LENGTH && formatOf(value) === null) {
      ctx.addIssue({ code: 'custom', message: whyRefused(value) })
    }
  })
  .openapi({
    pattern: PASSWORD_HASH_PATTERN,
    format: 'password',
    writeOnly: true,
    description:
      "A password hash made by another system, stored as is (instead of `password`; needs users:admin): argon2id or argon2i PHC (v=19, m 1024-131072, t 1-10, p 1-16), bcrypt ($2a$, $2b$, $2y$, cost 4-15), or PBKDF2-SHA256 as passlib ($pbkdf2-sha256$...) or Django (pbkdf2_sha256$...) writes it (1,000-10,000,000 iterations). Replaced by this service's argon2id at the user's first successful verify.",
    example: '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW',
  })

// v1.1 fields of the User, of a create and of a patch, and the combinations they may not come in.
const UTC = z.iso.datetime().openapi({ example: '2026-11-30T08:00:00.000Z' })
export const USER_V1_1_FIELDS = {
  emailVerified: z
    .boolean()
    .openapi({ description: 'Whether the email address is verified; false again after a change of address.' }),
  lastSignInAt: UTC.optional().openapi({
    description: 'The last successful POST /v1/auth/verify; absent until the first. Not a change: no version bump.',
  }),
  disabledUntil: UTC.optional().openapi({ description: 'Present while the user is disabled until a given time.' }),
  disabledReason: z.string().optional().openapi({ example: 'chargeback review' }),
  givenName: z.string().optional().openapi({ example: 'Alice' }),
  familyName: z.string().optional().openapi({ example: 'Wong' }),
  externalId: z.string().optional().openapi({ example: '00u1abcd2EFGH3ijk4l5' }),
}
export const CREATE_V1_1_FIELDS = {
  emailVerified: z.boolean().optional().openapi({ description: 'Default false.' }),
  givenName: GivenNameSchema.optional(),
  familyName: FamilyNameSchema.optional(),
  externalId: ExternalIdSchema.optional(),
  disabledUntil: DisabledUntilSchema.optional(),
  disabledReason: DisabledReasonSchema.optional().openapi({ description: 'Only with status "disabled". Needs users:admin.' }),
  passwordHash: PasswordHashSchema.optional(),
}
const removable = '`null` removes it.'
export const UPDATE_V1_1_FIELDS = {
  emailVerified: z.boolean().optional().openapi({ description: 'Set to false by a change of email that does not set it.' }),
  givenName: GivenNameSchema.nullable().optional().openapi({ description: removable }),
  familyName: FamilyNameSchema.nullable().optional().openapi({ description: removable }),
  externalId: ExternalIdSchema.nullable().optional().openapi({ description: removable }),
  disabledUntil: DisabledUntilSchema.nullable().optional().openapi({
    description: 'Only while the user is (or becomes) disabled; `null` makes the disable open-ended. Needs users:admin.',
  }),
  disabledReason: DisabledReasonSchema.nullable()
    .optional()
    .openapi({ description: 'Only while the user is (or becomes) disabled; `null` removes it. Needs users:admin.' }),
  passwordHash: PasswordHashSchema.optional(),
}

type Combination = {
  password?: unknown
  passwordHash?: unknown
  status?: string
  disabledUntil?: unknown
  disabledReason?: unknown
}

function checkPasswordCombination(input: Combination, ctx: z.RefinementCtx) {
  if (input.password !== undefined && input.passwordHash !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['passwordHash'], message: 'must not be sent together with password' })
  }
}

/** A create may carry disabledUntil and disabledReason only with status "disabled". */
export function checkCreateCombinations(input: Combination, ctx: z.RefinementCtx) {
  checkPasswordCombination(input, ctx)
  for (const field of ['disabledUntil', 'disabledReason'] as const) {
    if (input[field] !== undefined && input.status !== 'disabled') {
      ctx.addIssue({ code: 'custom', path: [field], message: 'is allowed only with status "disabled"' })
    }
  }
}

/** A patch may not set disabledUntil or disabledReason together with status "active" (which clears them). */
export function checkUpdateCombinations(input: Combination, ctx: z.RefinementCtx) {
  checkPasswordCombination(input, ctx)
  for (const field of ['disabledUntil', 'disabledReason'] as const) {
    if (input[field] !== undefined && input[field] !== null && input.status === 'active') {
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: 'is allowed only with status "disabled"; status "active" clears it',
      })
    }
  }
}

// The same combinations, stated in the document (JSON Schema 2020-12), so a client or a tester
// generating requests from it knows them.
const NOT_BOTH_PASSWORDS = { not: { properties: { password: {}, passwordHash: {} }, required: ['password', 'passwordHash'] } }
const ONLY_WHEN_DISABLED = { required: ['status'], properties: { status: { const: 'disabled' } } }
export const CREATE_COMBINATIONS_DOCUMENTED = {
  ...NOT_BOTH_PASSWORDS,
  dependentSchemas: { disabledUntil: ONLY_WHEN_DISABLED, disabledReason: ONLY_WHEN_DISABLED },
}
const NULL_OR_NOT_ACTIVE = (field: string) => ({
  anyOf: [{ properties: { [field]: { type: 'null' } } }, { properties: { status: { const: 'disabled' } } }],
})
export const UPDATE_COMBINATIONS_DOCUMENTED = {
  ...NOT_BOTH_PASSWORDS,
  dependentSchemas: { disabledUntil: NULL_OR_NOT_ACTIVE('disabledUntil'), disabledReason: NULL_OR_NOT_ACTIVE('disabledReason') },
}
