import { z } from '@hono/zod-openapi'
import { DELIVERY_ID_PATTERN, WEBHOOK_ID_PATTERN } from '../events/events.ids'
import { EVENT_TYPES, EventIdSchema, EventTypeSchema } from '../events/events.schemas'
import { wholeNumberParameter } from '../http/query-number'
import { DELIVERY_ERROR_CLASSES } from './webhooks.sender'
import { checkWebhookTarget, MAX_TARGET_URL_LENGTH } from './webhooks.target'

/**
 * The webhook nouns of API.md ("Change events", Webhooks): endpoints as created, patched and read,
 * the secret (shown only on create and rotate), and the deliveries log.
 */

export const WebhookIdSchema = z
  .string()
  .regex(WEBHOOK_ID_PATTERN, 'must be a webhook id: wh_ and a 26-character ULID')
  .openapi({ example: 'wh_01JD8Z3N5W7QK2XH9V4T6RBM0C' })

export const DeliveryIdSchema = z
  .string()
  .regex(DELIVERY_ID_PATTERN, 'must be a delivery id: dlv_ and a 26-character ULID')
  .openapi({ example: 'dlv_01JD8Z3N5W7QK2XH9V4T6RBM0C' })

/**
 * The URL's form only (absolute http(s), no credentials, no fragment, at most 2048 characters);
 * the service then applies the production policy (https only, public hosts) with
 * checkWebhookTarget and the configured WEBHOOK_ALLOW_PRIVATE_TARGETS.
 */
export const WebhookUrlSchema = z
  .string()
  .max(MAX_TARGET_URL_LENGTH, `must be at most ${MAX_TARGET_URL_LENGTH} characters`)
  .superRefine((url, ctx) => {
    const checked = checkWebhookTarget(url, { allowPrivateTargets: true })
    if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.message })
  })
  .openapi({
    format: 'uri',
    example: 'https://hooks.example.com/users-service',
    description: 'https:// only, to a public host (checked again after DNS at every delivery).',
  })

const WebhookTypesSchema = z
  .array(EventTypeSchema)
  .min(1)
  .max(EVENT_TYPES.length)
  .refine((types) => new Set(types).size === types.length, 'must not repeat a type')
  .openapi({ description: 'The event types delivered; absent means every type, including types added later.' })

// Control characters and bidirectional overrides, as for displayName.
const CONTROL_CHARACTERS = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u
const DescriptionSchema = z
  .string()
  .max(200, 'must be at most 200 characters')
  .trim()
  .min(1, 'must not be empty')
  .refine(
    (value) => !CONTROL_CHARACTERS.test(value),
    'must not contain control characters or bidirectional overrides (U+202A-U+202E, U+2066-U+2069)',
  )
  .openapi({ example: 'billing service' })

export const WebhookSecretSchema = z.string().openapi({
  description: 'whsec_ and the base64 of 32 random bytes: the Standard Webhooks signing secret. Shown only here.',
  // A placeholder, so that no scanner mistakes the document for a leak.
  example: `whsec_${'A'.repeat(43)}=`,
})

export const CreateWebhookSchema = z
  .strictObject({
    url: WebhookUrlSchema,
    types: WebhookTypesSchema.optional(),
    description: DescriptionSchema.optional(),
    enabled: z.boolean().default(true),
  })
  .openapi('CreateWebhook')

export type CreateWebhookInput = z.output<typeof CreateWebhookSchema>

export const UpdateWebhookSchema = z
  .strictObject({
    url: WebhookUrlSchema.optional(),
    types: WebhookTypesSchema.nullable().optional().openapi({ description: '`null`: every type again.' }),
    description: DescriptionSchema.nullable().optional().openapi({ description: '`null` removes it.' }),
    enabled: z.boolean().optional().openapi({ description: '`true` also re-enables an endpoint disabled by a 410.' }),
  })
  .refine((patch) => Object.keys(patch).length > 0, {
    message: 'must change at least one field',
    when: (payload) => payload.issues.length === 0,
  })
  .openapi('UpdateWebhook', { description: 'JSON merge patch (RFC 7396).', minProperties: 1 })

export type UpdateWebhookInput = z.output<typeof UpdateWebhookSchema>

export const WebhookSchema = z
  .object({
    id: WebhookIdSchema,
    url: z.string().openapi({ example: 'https://hooks.example.com/users-service' }),
    types: z.array(EventTypeSchema).optional().openapi({ description: 'Absent: every type.' }),
    description: z.string().optional(),
    enabled: z.boolean(),
    disabledReason: z
      .enum(['gone'])
      .optional()
      .openapi({ description: 'Present when the service disabled it: `gone`, the endpoint answered 410.' }),
    previousSecretExpiresAt: z.iso.datetime().optional().openapi({
      description: 'After a rotation: until when the replaced secret still signs beside the new one.',
    }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Webhook')

export type Webhook = z.infer<typeof WebhookSchema>

export const CreatedWebhookSchema = WebhookSchema.extend({ secret: WebhookSecretSchema }).openapi('CreatedWebhook')

export const RotatedSecretSchema = z
  .object({
    secret: WebhookSecretSchema,
    previousSecretExpiresAt: z.iso.datetime().openapi({ description: 'The replaced secret signs too until then (24 h).' }),
  })
  .openapi('RotatedSecret')

export const WebhookListSchema = z.object({ items: z.array(WebhookSchema) }).openapi('WebhookList')

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const
export const DeliveryStatusSchema = z.enum(DELIVERY_STATUSES).openapi('DeliveryStatus')

export const DeliveryAttemptSchema = z
  .object({
    at: z.iso.datetime(),
    durationMs: z.number().int().min(0),
    statusCode: z.number().int().optional().openapi({ description: "The receiver's status; absent when none came." }),
    errorClass: z.enum(DELIVERY_ERROR_CLASSES).optional(),
    errorCode: z.string().optional().openapi({ example: 'ECONNREFUSED' }),
    responseBody: z.string().optional().openapi({ description: 'The first KiB of the response body.' }),
    responseTruncated: z.boolean().optional(),
  })
  .openapi('DeliveryAttempt')

export const DeliverySchema = z
  .object({
    id: DeliveryIdSchema,
    webhookId: WebhookIdSchema,
    eventId: EventIdSchema,
    eventType: EventTypeSchema,
    sequence: z.number().int().min(1),
    status: DeliveryStatusSchema,
    attempts: z.number().int().min(0).openapi({ description: 'Attempts made so far.' }),
    nextAttemptAt: z.iso.datetime().optional().openapi({ description: 'While pending: when the next attempt is due.' }),
    recentAttempts: z.array(DeliveryAttemptSchema).openapi({ description: 'The last attempts, oldest first (at most 10).' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Delivery')

export type Delivery = z.infer<typeof DeliverySchema>

export const DeliveryListSchema = z
  .object({
    items: z.array(DeliverySchema),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .openapi('DeliveryList')

export const ListDeliveriesQuerySchema = z.strictObject({
  status: DeliveryStatusSchema.optional(),
  limit: wholeNumberParameter({ min: 1, max: 100, default: 20 }),
  cursor: z.string().min(1).max(1024).optional().openapi({ description: 'Opaque; from a previous nextCursor.' }),
})

export const WebhookParamsSchema = z.strictObject({ id: WebhookIdSchema })
export const DeliveryParamsSchema = z.strictObject({ id: WebhookIdSchema, deliveryId: DeliveryIdSchema })
