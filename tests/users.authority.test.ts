import { describe, expect, it } from 'bun:test'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import { newUser, useTestApp } from './helpers/context'
import { apiKey } from './helpers/keys'
import { expectProblem } from './helpers/problem'

/**
 * Issue 13, finding 1: any write that touches a privileged user (a role other than `user`) or a
 * disabled one needs `users:admin`, on every write route, /v1 and the compatibility routes alike;
 * a `users:write` caller gets 403 `forbidden` naming `users:admin`, and nothing changes.
 */
const writer = apiKey('writer', ['users:read', 'users:write'])
const admin = apiKey('admin', ['users:read', 'users:write', 'users:admin'])

const t = await useTestApp({
  name: 'authority',
  deps: {
    config: testConfig({ legacyRoutes: true }),
    authenticator: createAuthenticator({ apiKeys: [writer.entry, admin.entry], jwt: undefined }),
  },
})

const as = (key: string, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...headers })

type Stored = { id: string; username: string; email: string; version: number }

const targets = {
  user: {},
  moderator: { role: 'moderator' },
  admin: { role: 'admin' },
  disabled: { status: 'disabled' },
} as const
type Target = keyof typeof targets

/** A fresh user of the target's kind, created by the admin key, with a password. */
async function target(kind: Target): Promise<Stored> {
  const res = await t.raw('/v1/users', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...as(admin.key) },
    body: JSON.stringify(newUser({ ...targets[kind], password: 'the-original-password' })),
  })
  expect(res.status).toBe(201)
  return (await res.json()) as Stored
}

const body = (method: string, key: string, value: unknown, type = 'application/json'): RequestInit => ({
  method,
  headers: as(key, { 'content-type': type }),
  body: JSON.stringify(value),
})

/** Every write route that names an existing user, with what it sends and what success looks like. */
const writes: {
  name: string
  ok: number
  deletes?: boolean
  send: (user: Stored, key: string) => Response | Promise<Response>
}[] = [
  {
    name: 'PATCH /v1/users/{id} {password}',
    ok: 200,
    send: (u, key) => t.raw(`/v1/users/${u.id}`, body('PATCH', key, { password: 'pwned-by-writer' })),
  },
  {
    name: 'PATCH /v1/users/{id} {email}',
    ok: 200,
    send: (u, key) => t.raw(`/v1/users/${u.id}`, body('PATCH', key, { email: `evil.${u.username}@evil.example` })),
  },
  {
    name: 'PATCH /v1/users/{id} {displayName}',
    ok: 200,
    send: (u, key) => t.raw(`/v1/users/${u.id}`, body('PATCH', key, { displayName: 'Renamed' }, 'application/merge-patch+json')),
  },
  {
    name: 'PATCH /v1/users/{id} {metadata}',
    ok: 200,
    send: (u, key) => t.raw(`/v1/users/${u.id}`, body('PATCH', key, { metadata: { owned: true } })),
  },
  {
    name: 'PATCH /v1/users/{id} {username} with If-Match',
    ok: 200,
    send: (u, key) =>
      t.raw(`/v1/users/${u.id}`, {
        ...body('PATCH', key, { username: `${u.username}x` }),
        headers: as(key, { 'content-type': 'application/json', 'if-match': `"${u.version}"` }),
      }),
  },
  {
    name: 'DELETE /v1/users/{id}',
    ok: 204,
    deletes: true,
    send: (u, key) => t.raw(`/v1/users/${u.id}`, { method: 'DELETE', headers: as(key) }),
  },
  {
    name: 'DELETE /v1/users/{id} with If-Match',
    ok: 204,
    deletes: true,
    send: (u, key) => t.raw(`/v1/users/${u.id}`, { method: 'DELETE', headers: as(key, { 'if-match': `"${u.version}"` }) }),
  },
  {
    name: 'PUT /update/{username} {password}',
    ok: 200,
    send: (u, key) => t.raw(`/update/${u.username}`, body('PUT', key, { password: 'pwned-by-writer' })),
  },
  {
    name: 'PUT /update/{username} {email}',
    ok: 200,
    send: (u, key) => t.raw(`/update/${u.username}`, body('PUT', key, { email: `evil.${u.username}@evil.example` })),
  },
  {
    name: 'DELETE /delete/{username}',
    ok: 200,
    deletes: true,
    send: (u, key) => t.raw(`/delete/${u.username}`, { method: 'DELETE', headers: as(key) }),
  },
]

const callers = [
  { who: 'users:write', key: writer.key, admin: false },
  { who: 'users:admin', key: admin.key, admin: true },
]

describe('writes on privileged and disabled users', () => {
  for (const write of writes) {
    for (const kind of Object.keys(targets) as Target[]) {
      for (const caller of callers) {
        const allowed = caller.admin || kind === 'user'
        it(`${write.name} on ${kind === 'user' ? 'a plain user' : `${kind === 'admin' ? 'an' : 'a'} ${kind} user`} by ${caller.who} → ${allowed ? write.ok : 403}`, async () => {
          const user = await target(kind)
          const res = await write.send(user, caller.key)
          const after = await t.raw(`/v1/users/${user.id}`, { headers: as(admin.key) })
          if (allowed) {
            expect(res.status).toBe(write.ok)
            if (write.deletes) expect(after.status).toBe(404)
            else expect(((await after.json()) as Stored).version).toBe(user.version + 1)
            return
          }
          const problem = await expectProblem(res, 403, 'forbidden')
          expect(problem.detail).toContain('users:admin')
          // RFC 6750 §3.1, as the routes' own scope checks say it: which scope would do.
          expect(res.headers.get('www-authenticate')).toBe(
            'Bearer realm="users-service", error="insufficient_scope", scope="users:admin"',
          )
          // Nothing changed: same version, same everything.
          expect(after.status).toBe(200)
          expect(await after.json()).toEqual(user)
        })
      }
    }
  }
})

describe('the attacks of issue 13, finding 1', () => {
  it("a writer cannot set an administrator's password and then sign in with it", async () => {
    const root = await target('admin')
    await expectProblem(
      await t.raw(`/v1/users/${root.id}`, body('PATCH', writer.key, { password: 'pwned-by-writer' })),
      403,
      'forbidden',
    )
    const verify = (password: string) => t.raw('/v1/auth/verify', body('POST', writer.key, { login: root.username, password }))
    await expectProblem(await verify('pwned-by-writer'), 401, 'invalid_credentials')
    expect((await verify('the-original-password')).status).toBe(200)
  })

  it('a writer cannot undo a disable by deleting the user and creating it again', async () => {
    const disabled = await target('disabled')
    await expectProblem(await t.raw(`/v1/users/${disabled.id}`, { method: 'DELETE', headers: as(writer.key) }), 403, 'forbidden')
    const again = await t.raw('/v1/users', body('POST', writer.key, { username: disabled.username, email: disabled.email }))
    await expectProblem(again, 409, 'username_taken')
    const still = (await (await t.raw(`/v1/users/${disabled.id}`, { headers: as(admin.key) })).json()) as { status: string }
    expect(still.status).toBe('disabled')
  })

  it('refuses before saying anything about versions: 403, not 412, on a stale If-Match', async () => {
    const moderator = await target('moderator')
    const stale = { 'content-type': 'application/json', 'if-match': '"99"' }
    const res = await t.raw(`/v1/users/${moderator.id}`, {
      method: 'PATCH',
      headers: as(writer.key, stale),
      body: '{"displayName":"x"}',
    })
    await expectProblem(res, 403, 'forbidden')
  })

  it('still answers 404 for a user that does not exist', async () => {
    const missing = '/v1/users/0123456789abcdef01234567'
    await expectProblem(await t.raw(missing, body('PATCH', writer.key, { password: 'long enough' })), 404, 'user_not_found')
    await expectProblem(await t.raw(missing, { method: 'DELETE', headers: as(writer.key) }), 404, 'user_not_found')
  })
})
