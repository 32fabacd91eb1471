import { z } from '@hono/zod-openapi'
import { EmailSchema, PasswordSchema, RoleSchema, UserIdSchema, UsernameSchema } from '../users/users.schemas'

/**
 * The Flask service's request and response shapes, for the compatibility routes. Fields are
 * checked with the API's own schemas. What the seed did and these do not: accept any field
 * (`User(**request.json)` was a mass-assignment hole; unknown fields are now a 400) and return
 * the plain-text password (never returned now).
 */

/** MongoEngine's `to_json()` of a user, less the password: `_id` in Extended JSON, `is_active` for status. */
export const LegacyUserSchema = z
  .object({
    _id: z.object({ $oid: UserIdSchema }),
    username: z.string().openapi({ example: 'alice' }),
    email: z.string().openapi({ example: 'alice@example.com' }),
    role: RoleSchema,
    is_active: z.boolean(),
  })
  .openapi('LegacyUser', { description: "The Flask service's user shape, without the password it used to return." })

export const LegacyCreateUserSchema = z
  .strictObject({
    username: UsernameSchema,
    email: EmailSchema,
    password: PasswordSchema.optional(),
    role: RoleSchema.optional(),
    is_active: z.boolean().optional(),
  })
  .openapi('LegacyCreateUser')

export const LegacyUpdateUserSchema = z
  .strictObject({
    username: UsernameSchema.optional(),
    email: EmailSchema.optional(),
    password: PasswordSchema.optional(),
    role: RoleSchema.optional(),
    is_active: z.boolean().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, {
    message: 'must change at least one field',
    when: (payload) => payload.issues.length === 0,
  })
  // minProperties states the refine above in the document (a Schemathesis finding).
  .openapi('LegacyUpdateUser', { description: 'The fields to change; the others keep their values.', minProperties: 1 })

export const LegacyMessageSchema = z.object({ message: z.string().openapi({ example: 'User deleted' }) }).openapi('LegacyMessage')

export const LegacyUsernameParams = z.object({
  username: UsernameSchema.openapi({ param: { name: 'username', in: 'path' } }),
})
