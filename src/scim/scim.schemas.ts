import { z } from '@hono/zod-openapi'
import { USERNAME_MAX_LENGTH, USERNAME_PATTERN } from '../users/users.schemas'
import { SCIM_ERROR_SCHEMA, SCIM_TYPES } from './scim.errors'
import { SCIM_LIST_RESPONSE_SCHEMA, SCIM_PATCH_OP_SCHEMA, SCIM_USER_SCHEMA } from './scim.schema'

/**
 * The SCIM wire format in the OpenAPI document. Answers are described as they are. Request bodies
 * are described but checked by the SCIM modules, not by these schemas (only "a JSON object" is
 * checked here): SCIM attribute names are case-insensitive, may carry a schema URN, and a body
 * may hold attributes the service accepts and ignores, which no JSON Schema of fixed property
 * names can say.
 */

export const ScimErrorSchema = z
  .object({
    schemas: z.array(z.literal(SCIM_ERROR_SCHEMA)),
    status: z.string().openapi({ description: 'The HTTP status, as a string (RFC 7644 §3.12).', example: '409' }),
    scimType: z.enum(SCIM_TYPES).optional().openapi({ description: 'For 400 and 409: which kind of error (RFC 7644 table 9).' }),
    detail: z.string().optional().openapi({ example: 'Another user already has this userName (compared case-insensitively).' }),
  })
  .openapi('ScimError', { description: 'A SCIM Error message: every error under /scim/v2 has this shape.' })

const UserExample = {
  schemas: [SCIM_USER_SCHEMA],
  id: '665f1c2e9b1e8a3d4c5b6a79',
  externalId: '00ujl29u0le5T6Aj10h7',
  userName: 'alice@example.com',
  name: { givenName: 'Alice', familyName: 'Wong' },
  displayName: 'Alice W.',
  emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
  active: true,
  meta: {
    resourceType: 'User',
    created: '2026-11-25T19:00:00.000Z',
    lastModified: '2026-11-25T19:00:00.000Z',
    location: '/scim/v2/Users/665f1c2e9b1e8a3d4c5b6a79',
    version: 'W/"1"',
  },
}

export const ScimUserSchema = z
  .object({
    schemas: z.array(z.string()),
    id: z.string(),
    externalId: z.string().optional(),
    userName: z.string().optional(),
    name: z.object({ givenName: z.string().optional(), familyName: z.string().optional() }).optional(),
    displayName: z.string().optional(),
    emails: z
      .array(z.object({ value: z.string().optional(), type: z.literal('work').optional(), primary: z.boolean().optional() }))
      .optional(),
    active: z.boolean().optional(),
    meta: z
      .object({
        resourceType: z.literal('User'),
        created: z.iso.datetime(),
        lastModified: z.iso.datetime(),
        location: z.string(),
        version: z.string().openapi({ description: 'W/"<version>": the weak entity tag If-Match takes.' }),
      })
      .partial()
      .optional(),
  })
  .openapi('ScimUser', {
    description:
      'A user as SCIM shows it. With `attributes` or `excludedAttributes`, any attribute but `schemas` and `id` may be left out.',
    example: UserExample,
  })

const listResponse = <T extends z.ZodType>(resource: T) => ({
  schemas: z.array(z.string()).openapi({ example: [SCIM_LIST_RESPONSE_SCHEMA] }),
  totalResults: z.number().int().openapi({ description: 'How many resources match, on every page.' }),
  startIndex: z.number().int().openapi({ description: '1-based index of the first resource of this page.' }),
  itemsPerPage: z.number().int().openapi({ description: 'How many resources this page holds.' }),
  Resources: z.array(resource),
})

export const ScimUserListSchema = z.object(listResponse(ScimUserSchema)).openapi('ScimUserList')

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** A request body of the SCIM modules' own checking: here only "a JSON object". */
const scimObject = () => z.custom<Record<string, unknown>>(isObject, 'must be a JSON object')

const text = (maxLength: number, description?: string) => ({
  type: 'string' as const,
  minLength: 1,
  maxLength,
  ...(description ? { description } : {}),
})

/** A list of schema URNs that holds `urn` (JSON Schema 2020-12 `contains`, which zod-to-openapi's types do not know). */
const schemasHolding = (urn: string) =>
  ({ type: 'array', items: { type: 'string' }, contains: { const: urn } }) as { type: 'array' }

export const ScimUserInputSchema = scimObject().openapi('ScimUserInput', {
  type: 'object',
  description:
    'A User resource (POST, PUT), described here with its stored attributes. Names are case-insensitive and may carry the core ' +
    'schema URN. Also accepted and ignored: read-only attributes (id, meta, groups) and the core and enterprise-extension ' +
    'attributes the service does not store (title, phoneNumbers, addresses, roles...); any other name is 400 `invalidSyntax`. ' +
    'Each value meets the rules of /v1 (400 `invalidValue`). PUT clears the optional attributes it leaves out, but not the ' +
    'password and not `active`.',
  properties: {
    schemas: schemasHolding(SCIM_USER_SCHEMA),
    userName: { type: 'string', maxLength: USERNAME_MAX_LENGTH, pattern: USERNAME_PATTERN },
    emails: {
      type: 'array',
      minItems: 1,
      description: 'The primary address is stored, else the work one, else the first; it must be a valid address.',
      items: {
        type: 'object',
        properties: { value: text(254), type: { description: 'Stored as "work".' }, primary: { description: 'true marks it.' } },
        required: ['value'],
      },
    },
    name: {
      type: 'object',
      properties: { givenName: text(100), familyName: text(100) },
      additionalProperties: false,
    },
    displayName: text(100),
    externalId: text(255, 'Compared exactly; unique.'),
    active: { type: ['boolean', 'string'], description: 'true or false; "True" and "False" strings are accepted too.' },
    password: { type: 'string', minLength: 8, maxLength: 128, writeOnly: true },
  },
  required: ['userName', 'emails'],
  additionalProperties: false,
  example: {
    schemas: [SCIM_USER_SCHEMA],
    userName: 'alice@example.com',
    emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
    name: { givenName: 'Alice', familyName: 'Wong' },
    externalId: '00ujl29u0le5T6Aj10h7',
    active: true,
  },
})

export const ScimPatchOpSchema = scimObject().openapi('ScimPatchOp', {
  type: 'object',
  description:
    'A PatchOp message (RFC 7644 §3.5.2): `op` add, remove or replace in any case; `path` an attribute path (with a value filter on ' +
    'emails); a value-only add or replace takes an object keyed by attribute paths. At most 100 operations, applied in order, all or nothing.',
  properties: {
    schemas: schemasHolding(SCIM_PATCH_OP_SCHEMA),
    Operations: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: {
        type: 'object',
        properties: {
          op: { type: 'string', pattern: '^([Aa][Dd][Dd]|[Rr][Ee][Mm][Oo][Vv][Ee]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee])$' },
          path: { type: 'string' },
          value: {},
        },
        required: ['op'],
      },
    },
  },
  required: ['schemas', 'Operations'],
  example: {
    schemas: [SCIM_PATCH_OP_SCHEMA],
    Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'alice.wong@example.com' }],
  },
})

/** Discovery documents: their main members described, the rest as RFC 7643 §5-7 define them. */
const discovery = (name: string, description: string, members: z.ZodRawShape) =>
  z.looseObject({ schemas: z.array(z.string()), ...members }).openapi(name, { description })

export const ScimServiceProviderConfigSchema = discovery(
  'ScimServiceProviderConfig',
  'What this service provider supports (RFC 7643 §5): PATCH, filters, ETags; no bulk, no sorting.',
  { patch: z.object({ supported: z.boolean() }), filter: z.object({ supported: z.boolean(), maxResults: z.number().int() }) },
)

export const ScimResourceTypeSchema = discovery('ScimResourceType', 'A resource type (RFC 7643 §6): here, User only.', {
  id: z.string(),
  name: z.string(),
  endpoint: z.string(),
  schema: z.string(),
})

export const ScimSchemaSchema = discovery('ScimSchema', 'A schema (RFC 7643 §7), listing exactly the attributes stored.', {
  id: z.string(),
  name: z.string(),
  attributes: z.array(z.looseObject({ name: z.string(), type: z.string() })),
})

export const ScimResourceTypeListSchema = z.object(listResponse(ScimResourceTypeSchema)).openapi('ScimResourceTypeList')
export const ScimSchemaListSchema = z.object(listResponse(ScimSchemaSchema)).openapi('ScimSchemaList')
