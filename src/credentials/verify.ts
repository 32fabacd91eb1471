import { createRoute, z } from '@hono/zod-openapi'
import { requireScope } from '../auth/middleware'
import type { Handler } from '../http/handler'
import { jsonBody } from '../http/json-body'
import { onlyQuery } from '../http/only-query'
import { problem, problemResponses } from '../http/problem'
import { createRouter } from '../http/router'
import type { Metrics } from '../observability/metrics'
import { NOT_BLANK_PATTERN, UserSchema } from '../users/users.schemas'
import type { UsersService } from '../users/users.service'
import { addressKey, EndUserAddressSchema } from './client-address'
import type { FailedAttempts } from './failed-attempts'
import { countersFor, type FailureLimits, REFUSED_BY } from './limits'

const VerifyCredentialsSchema = z
  .strictObject({
    // max before trim, and the pattern, so the document says which logins get 400 (found by Schemathesis).
    login: z.string().max(254).trim().min(1).openapi({
      description:
        'Username or email, any case. A login with `@` names the user with that email if there is one, else the user with that username.',
      pattern: NOT_BLANK_PATTERN,
      example: 'alice.w',
    }),
    // No length policy here: a password that could never have been set is simply wrong (401).
    password: z
      .string()
      .min(1)
      .max(1024)
      .openapi({ format: 'password', writeOnly: true, example: 'correct horse battery staple' }),
    ip: EndUserAddressSchema.optional().openapi({
      description:
        "The end user's IP address, as the calling front end saw it. When given, failures are counted per login from " +
        'this address (an IPv6 address by its /64) and per address across logins, and not against the calling client: ' +
        'a front end that checks credentials for many end users with one key should always pass it.',
      example: '203.0.113.7',
    }),
  })
  .openapi('VerifyCredentials')

export const verifyCredentials = createRoute({
  method: 'post',
  path: '/auth/verify',
  tags: ['auth'],
  operationId: 'verifyCredentials',
  summary: 'Check a login and password',
  description:
    'Unknown login and wrong password give the same 401 in about the same time. A disabled user gets 403 only after a correct password. ' +
    'Repeated failures are refused with 429 until the window passes: for one login from one address and from one address across ' +
    "logins when the body gives the end user's `ip`; otherwise for one login and from one calling client. A refused request " +
    'counts against nothing.',
  security: [{ bearerAuth: ['users:read'] }],
  middleware: [requireScope('users:read'), onlyQuery(), jsonBody('application/json')],
  request: { body: { required: true, content: { 'application/json': { schema: VerifyCredentialsSchema } } } },
  responses: {
    200: {
      description: 'The credentials are right.',
      content: { 'application/json': { schema: z.object({ user: UserSchema }).openapi('VerifiedUser') } },
    },
    ...problemResponses(
      'validation_failed',
      'malformed_json',
      'unauthorized',
      'invalid_credentials',
      'forbidden',
      'user_disabled',
      'payload_too_large',
      'unsupported_media_type',
      'rate_limited',
      'internal_error',
      'service_unavailable',
    ),
  },
})

export type VerifyDeps = {
  users: Pick<UsersService, 'findLogin' | 'rejectUnknownLogin'>
  failedAttempts: FailedAttempts
  limits: FailureLimits
  metrics: Pick<Metrics, 'countRateLimited'>
}

/**
 * POST /v1/auth/verify: credential checks for other services, hardened against guessing. The
 * password itself is checked by the users service (the hash never leaves it); this module counts
 * the attempts.
 */
export function createVerifyRouter({ users, failedAttempts, limits, metrics }: VerifyDeps) {
  const handler: Handler<typeof verifyCredentials> = async (c) => {
    const { login, password, ip } = c.req.valid('json')
    const found = await users.findLogin(login)
    // Counted per user when the login names one, so switching between username and email gains
    // nothing; per login string otherwise. `ip` is trusted: every caller here is authenticated.
    const counted = countersFor(
      {
        subject: found ? { userId: found.user.id } : { login },
        address: ip === undefined ? undefined : addressKey(ip),
        client: c.get('caller')?.name ?? 'anonymous',
      },
      limits,
    )
    const refusal = await failedAttempts.take(counted.counters)
    if (refusal) {
      metrics.countRateLimited(refusal.kind)
      const wait = refusal.retryAfterSeconds
      return problem(c, 'rate_limited', `${REFUSED_BY[refusal.kind](ip !== undefined)} Retry in ${wait} s.`, {
        headers: { 'Retry-After': String(wait) },
      })
    }

    // An unknown login, or a user without a password, costs what a wrong password costs.
    const verified = await (found ? found.verify(password) : users.rejectUnknownLogin(password)).catch(async (error: unknown) => {
      // Not checked (a full hashing pool answers 503, the database went away): no attempt was
      // made, so none is counted; the error still answers the request.
      await Promise.all([failedAttempts.refund(counted.login), failedAttempts.refund(counted.broad)]).catch(() => {})
      throw error
    })
    if (!found || !verified) {
      return problem(c, 'invalid_credentials', 'The login or the password is wrong.', {
        headers: { 'WWW-Authenticate': 'Bearer realm="users-service"' },
      })
    }
    await Promise.all([failedAttempts.reset(counted.login), failedAttempts.refund(counted.broad)])
    if (found.user.status === 'disabled') {
      const { disabledUntil } = found.user
      return problem(
        c,
        'user_disabled',
        `The credentials are right, but the user is disabled${disabledUntil ? ` until ${disabledUntil}` : ''}.`,
        {
          members: disabledUntil ? { disabledUntil } : {},
        },
      )
    }
    return c.json({ user: found.user }, 200)
  }

  return createRouter().openapi(verifyCredentials, handler)
}
