import { z } from '@hono/zod-openapi'
import { wholeNumberParameter } from '../http/query-number'
import { UserIdSchema, UserSchema } from '../users/users.schemas'
import { EVENT_ID_PATTERN } from './events.ids'

/**
 * The change events of API.md ("Change events"): the event object, which the feed lists and a
 * webhook delivers as its body, and the feed's query and answer.
 */

export const EVENT_TYPES = ['user.created', 'user.updated', 'user.deleted', 'user.restored', 'user.erased'] as const
export type EventType = (typeof EVENT_TYPES)[number]

export const EventTypeSchema = z.enum(EVENT_TYPES).openapi('EventType')

export const EventIdSchema = z
  .string()
  .regex(EVENT_ID_PATTERN, 'must be an event id: evt_ and a 26-character ULID')
  .openapi({ example: 'evt_01JD8Z3N5W7QK2XH9V4T6RBM0C', description: 'Unique and stable; the `webhook-id` of its deliveries.' })

/** A feed position: the sequence of the last event seen, as a string ("0" is before the first). */
export const EventCursorSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, 'must be a cursor from nextCursor (a sequence number)')
  .openapi({ example: '1042' })

const eventFields = {
  id: EventIdSchema,
  sequence: z.number().int().min(1).openapi({ description: 'Global order: strictly increasing in the feed.', example: 1042 }),
  occurredAt: z.iso.datetime().openapi({ description: 'When the change was written.', example: '2026-11-30T08:00:00.000Z' }),
  userId: UserIdSchema,
  userVersion: z
    .number()
    .int()
    .min(1)
    .openapi({ description: "The user's version after the change; strictly increasing per user.", example: 3 }),
}

const userAfter = UserSchema.optional().openapi({
  description: 'The user after the change (as it was, for user.deleted). Absent once the user has been erased.',
})

const ChangedSchema = z.array(z.string()).openapi({
  description: 'Top-level fields that changed ("password" included, never its value). Absent once the user has been erased.',
  example: ['email', 'emailVerified'],
})

export const UserCreatedEventSchema = z
  .object({ ...eventFields, type: z.literal('user.created'), data: z.object({ user: userAfter }) })
  .openapi('UserCreatedEvent')
export const UserUpdatedEventSchema = z
  .object({
    ...eventFields,
    type: z.literal('user.updated'),
    data: z.object({ user: userAfter, changed: ChangedSchema.optional() }),
  })
  .openapi('UserUpdatedEvent')
export const UserDeletedEventSchema = z
  .object({ ...eventFields, type: z.literal('user.deleted'), data: z.object({ user: userAfter }) })
  .openapi('UserDeletedEvent')
export const UserRestoredEventSchema = z
  .object({ ...eventFields, type: z.literal('user.restored'), data: z.object({ user: userAfter }) })
  .openapi('UserRestoredEvent')
export const UserErasedEventSchema = z
  .object({ ...eventFields, type: z.literal('user.erased'), data: z.object({}).openapi({ description: 'Always empty.' }) })
  .openapi('UserErasedEvent')

/** One change to one user: what the feed lists and what a webhook POSTs. */
export const ChangeEventSchema = z
  .discriminatedUnion('type', [
    UserCreatedEventSchema,
    UserUpdatedEventSchema,
    UserDeletedEventSchema,
    UserRestoredEventSchema,
    UserErasedEventSchema,
  ])
  .openapi('ChangeEvent')

export type ChangeEvent = z.infer<typeof ChangeEventSchema>

export const EventListSchema = z
  .object({
    items: z.array(ChangeEventSchema),
    nextCursor: EventCursorSchema.openapi({
      description:
        'Pass as `after` for the next page. Never null: after a full page, its last sequence; otherwise how far the feed has looked (the watermark), so events the `type` or `userId` filters left out are not looked at again. An empty page without filters gives back the cursor that was sent; one with filters may move it forward.',
    }),
  })
  .openapi('EventList')

export type EventList = z.infer<typeof EventListSchema>

// `?type=a&type=b` reaches the validator as an array, `?type=a` as a string: take both.
const repeatable = <T extends z.ZodType>(item: T) =>
  z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(item).min(1).max(EVENT_TYPES.length))

export const ListEventsQuerySchema = z.strictObject({
  after: EventCursorSchema.optional().openapi({
    description: 'A cursor from nextCursor: events after it. Omitted: from the oldest event kept.',
  }),
  type: repeatable(EventTypeSchema)
    .optional()
    .openapi({ description: 'Only these types; repeat the parameter for several.', example: ['user.created'] }),
  userId: UserIdSchema.optional().openapi({ description: "Only this user's events." }),
  limit: wholeNumberParameter({ min: 1, max: 500, default: 100 }),
  waitSeconds: wholeNumberParameter({
    min: 0,
    max: 30,
    default: 0,
    message: 'must be a whole number of seconds',
    description: 'When nothing is newer than `after`, hold the request until something is or the time is up.',
  }),
})

export type ListEventsQuery = z.output<typeof ListEventsQuerySchema>
