import { z } from '@hono/zod-openapi'
import { toJsonPointer } from '../http/errors'
import { EmailSchema, PasswordSchema, RoleSchema, UsernameSchema } from '../users/users.schemas'

/**
 * How a document of the Flask service's `user` collection becomes a User. The field rules are the
 * API's own schemas (UsernameSchema, EmailSchema, PasswordSchema, RoleSchema), so an imported user
 * satisfies exactly what a user created through POST /v1/users must.
 */

/** The seed's fields, as MongoEngine stored them; every other stored field is ignored, never copied. */
const SeedUserSchema = z.object({
  username: UsernameSchema,
  email: EmailSchema,
  password: PasswordSchema.optional(),
  role: RoleSchema.optional(),
  is_active: z.boolean().optional(),
})

/** One reason a document cannot be imported as it is; never carries the value itself (it may be a password). */
export type FieldProblem = { pointer: string; code: string; message: string }

export type MappedSeedUser =
  | {
      ok: true
      user: { username: string; email: string; role: 'user' | 'moderator' | 'admin'; status: 'active' | 'disabled' }
      /** The plain-text password, to be hashed at once and then dropped. */
      password?: string
    }
  | { ok: false; problems: FieldProblem[] }

/**
 * Maps one seed document. Normalizations a MongoEngine app implies, and nothing more:
 * - `password` null or empty means "no password" (the user will have to set one);
 * - `role` is compared case-insensitively and trimmed (`"Admin "` is `admin`); absent or null is `user`,
 *   MongoEngine's default in the seed model;
 * - `is_active` absent or null is `true` (again the seed model's default); `false` becomes `disabled`.
 * Anything else that does not pass the API's rules (a number as username, a missing email, a
 * 5-character password, an unknown role) is refused with one problem per field.
 */
export function mapSeedUser(fields: Record<string, unknown>): MappedSeedUser {
  const input = {
    username: fields.username,
    email: fields.email,
    password: fields.password === null || fields.password === '' ? undefined : fields.password,
    role: typeof fields.role === 'string' ? fields.role.trim().toLowerCase() : (fields.role ?? undefined),
    is_active: fields.is_active ?? undefined,
  }
  const result = SeedUserSchema.safeParse(input)
  if (!result.success) {
    return {
      ok: false,
      problems: result.error.issues.map((issue) => ({
        pointer: toJsonPointer(issue.path),
        code: issue.code,
        message: issue.message,
      })),
    }
  }
  const { username, email, password, role, is_active } = result.data
  return {
    ok: true,
    user: { username, email, role: role ?? 'user', status: is_active === false ? 'disabled' : 'active' },
    ...(password !== undefined ? { password } : {}),
  }
}
