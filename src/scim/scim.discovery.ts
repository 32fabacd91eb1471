/**
 * The discovery documents (RFC 7644 §4, RFC 7643 §5-7): what this service provider supports, its
 * one resource type, and the User schema listing exactly the attributes it stores, so a client
 * that builds its model from them (scim2-tester does) round-trips every value it sends.
 */
import { SCIM_BASE as BASE } from './scim.resource'
import { SCIM_LIST_RESPONSE_SCHEMA, SCIM_USER_SCHEMA } from './scim.schema'

const CORE = 'urn:ietf:params:scim:schemas:core:2.0'
const SERVICE_PROVIDER_CONFIG_SCHEMA = `${CORE}:ServiceProviderConfig`
const RESOURCE_TYPE_SCHEMA = `${CORE}:ResourceType`
const SCHEMA_SCHEMA = `${CORE}:Schema`

/** The largest `count` a list answers with (also the default). */
export const MAX_RESULTS = 100

/** The longest filter read: a userName eq of the longest userName is under 300 characters. */
export const FILTER_MAX_LENGTH = 1024

export const SERVICE_PROVIDER_CONFIG = {
  schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
  documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
  patch: { supported: true },
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: MAX_RESULTS },
  changePassword: { supported: true },
  // Lists come in one stable order (creation time, then id); sortBy and sortOrder are ignored.
  sort: { supported: false },
  etag: { supported: true },
  authenticationSchemes: [
    {
      type: 'oauthbearertoken',
      name: 'Bearer token',
      description: "Authorization: Bearer <token>: an API key or a JWT holding the scope 'scim'.",
      specUri: 'https://datatracker.ietf.org/doc/html/rfc6750',
      primary: true,
    },
  ],
  meta: { resourceType: 'ServiceProviderConfig', location: `${BASE}/ServiceProviderConfig` },
}

export const USER_RESOURCE_TYPE = {
  schemas: [RESOURCE_TYPE_SCHEMA],
  id: 'User',
  name: 'User',
  endpoint: '/Users',
  description: 'The users of this service.',
  schema: SCIM_USER_SCHEMA,
  // The enterprise extension is accepted and ignored, not stored: it is not offered.
  schemaExtensions: [],
  meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/User` },
}

type Attribute = {
  name: string
  type: 'string' | 'boolean' | 'complex'
  multiValued: boolean
  description: string
  required: boolean
  caseExact?: boolean
  mutability: 'readWrite' | 'writeOnly'
  returned: 'default' | 'never'
  uniqueness?: 'none' | 'server'
  canonicalValues?: string[]
  subAttributes?: Attribute[]
}

const text = (name: string, description: string, extra: Partial<Attribute> = {}): Attribute => ({
  name,
  type: 'string',
  multiValued: false,
  description,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
})

/**
 * What is stored, and nothing else: `id`, `externalId` and `meta` are the common attributes of
 * every resource (RFC 7643 §3.1), not part of a schema. `active` is required because every user
 * has a status (a create without it makes an active user); `emails` because every user has an
 * address. The one email is shown with type "work", its only canonical value.
 */
export const USER_SCHEMA = {
  schemas: [SCHEMA_SCHEMA],
  id: SCIM_USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    text('userName', 'Unique identifier for the User, compared case-insensitively; an email address or UPN fits.', {
      required: true,
      uniqueness: 'server',
    }),
    {
      name: 'name',
      type: 'complex',
      multiValued: false,
      description: "The components of the user's name.",
      required: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'none',
      subAttributes: [text('givenName', 'The given name.'), text('familyName', 'The family name.')],
    },
    text('displayName', 'The name of the User, suitable for display.'),
    {
      name: 'active',
      type: 'boolean',
      multiValued: false,
      description: 'Whether the user may sign in (false: disabled).',
      required: true,
      mutability: 'readWrite',
      returned: 'default',
    },
    text('password', 'The password; stored as a hash, never returned.', {
      caseExact: true,
      mutability: 'writeOnly',
      returned: 'never',
    }),
    {
      name: 'emails',
      type: 'complex',
      multiValued: true,
      description: 'The one email address of the user: the primary (else the work) address of those sent.',
      required: true,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'none',
      subAttributes: [
        text('value', 'The email address, unique case-insensitively.', { required: true, uniqueness: 'server' }),
        text('type', 'Always "work".', { canonicalValues: ['work'] }),
        {
          name: 'primary',
          type: 'boolean',
          multiValued: false,
          description: 'Always true: the one address kept is the primary one (Okta reads it as emails[primary eq true]).',
          required: false,
          mutability: 'readWrite',
          returned: 'default',
          // Its only value, as RFC 7643 §7 writes canonical values (strings): a client that draws a
          // value among them (scim2-tester does) sends true, the value that comes back.
          canonicalValues: ['true'],
        },
      ],
    },
  ] satisfies Attribute[],
  meta: { resourceType: 'Schema', location: `${BASE}/Schemas/${SCIM_USER_SCHEMA}` },
}

/** A ListResponse of every item (discovery lists are short: one resource type, one schema). */
export function listOf<T>(items: T[]) {
  return {
    schemas: [SCIM_LIST_RESPONSE_SCHEMA],
    totalResults: items.length,
    startIndex: 1,
    itemsPerPage: items.length,
    Resources: items,
  }
}
