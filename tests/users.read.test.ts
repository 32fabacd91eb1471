import { describe, expect, it } from 'bun:test'
import { createUsersClient } from '../src/client'
import { useTestApp } from './helpers/context'
import { expectProblem, pointers } from './helpers/problem'

const t = await useTestApp({ name: 'read' })

describe('GET /v1/users/{id}', () => {
  it('returns the user with its ETag', async () => {
    const user = await t.createUser()
    const res = await t.api.v1.users[':id'].$get({ param: { id: user.id } })
    expect(res.status).toBe(200)
    if (res.status !== 200) return
    expect(await res.json()).toEqual(user)
    expect(res.headers.get('etag')).toBe('"1"')
  })

  it('returns 404 user_not_found for an unknown id', async () => {
    const res = await t.api.v1.users[':id'].$get({ param: { id: '0123456789abcdef01234567' } })
    const problem = await expectProblem(res, 404, 'user_not_found')
    expect(problem.detail).toContain('0123456789abcdef01234567')
    expect(problem.instance).toBe('/v1/users/0123456789abcdef01234567')
  })

  it.each(['123', 'zzzzzzzzzzzzzzzzzzzzzzzz', '0123456789ABCDEF01234567', '0123456789abcdef012345678'])(
    'returns 400 for the malformed id %s',
    async (id) => {
      const problem = await expectProblem(await t.raw(`/v1/users/${id}`), 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['path:/id'])
    },
  )

  describe('If-None-Match', () => {
    it.each([['"1"'], ['W/"1"'], ['*'], ['"7", "1"']])('answers 304 with the ETag for %s', async (header) => {
      const user = await t.createUser()
      const res = await t.api.v1.users[':id'].$get({ param: { id: user.id } }, { headers: { 'If-None-Match': header } })
      expect(res.status).toBe(304)
      expect(res.headers.get('etag')).toBe('"1"')
      expect(await res.text()).toBe('')
    })

    it('answers 200 when the tag is stale', async () => {
      const user = await t.createUser()
      const res = await t.api.v1.users[':id'].$get({ param: { id: user.id } }, { headers: { 'If-None-Match': '"2"' } })
      expect(res.status).toBe(200)
    })

    it('returns 400 for a malformed header instead of ignoring it', async () => {
      const user = await t.createUser()
      const res = await t.raw(`/v1/users/${user.id}`, { headers: { 'if-none-match': '1' } })
      const problem = await expectProblem(res, 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['header:/if-none-match'])
    })
  })
})

describe('GET /v1/users/by-username/{username}', () => {
  it('finds the user case-insensitively', async () => {
    const user = await t.createUser()
    const res = await t.api.v1.users['by-username'][':username'].$get({ param: { username: user.username.toUpperCase() } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(user)
    expect(res.headers.get('etag')).toBe('"1"')
  })

  it('answers 304 for a current If-None-Match', async () => {
    const user = await t.createUser()
    const res = await t.api.v1.users['by-username'][':username'].$get(
      { param: { username: user.username } },
      { headers: { 'If-None-Match': '"1"' } },
    )
    expect(res.status).toBe(304)
  })

  it('returns 404 for an unknown username', async () => {
    const res = await t.api.v1.users['by-username'][':username'].$get({ param: { username: 'nobody-here' } })
    await expectProblem(res, 404, 'user_not_found')
  })

  it('returns 400 for a username that cannot exist', async () => {
    await expectProblem(await t.raw('/v1/users/by-username/a%20b'), 400, 'validation_failed')
    await expectProblem(await t.raw('/v1/users/by-username/%2E%2E%2Fetc'), 400, 'validation_failed')
    await expectProblem(await t.raw(`/v1/users/by-username/${'a'.repeat(255)}`), 400, 'validation_failed')
  })
})

describe('GET /v1/users/by-email/{email}', () => {
  it('finds the user case-insensitively', async () => {
    const user = await t.createUser()
    const res = await t.api.v1.users['by-email'][':email'].$get({ param: { email: user.email.toUpperCase() } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(user)
  })

  it('finds emails with characters that are special in URLs', async () => {
    const email = `o'neil+tag.${Date.now()}@example.com`
    const user = await t.createUser({ email })
    const res = await t.api.v1.users['by-email'][':email'].$get({ param: { email } })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { id: string }).id).toBe(user.id)
  })

  it('percent-encodes path parameters in the typed client', async () => {
    const sent: string[] = []
    const api = createUsersClient({
      baseUrl: 'http://users.test',
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        sent.push(String(input))
        return t.app.fetch(new Request(input, init))
      }) as typeof fetch,
    })
    for (const email of ['a/b@example.com', 'a?b@example.com', 'a#b@example.com']) {
      const res = await api.v1.users['by-email'][':email'].$get({ param: { email } })
      // The server saw one path segment holding the whole value, and refused it as an email.
      const problem = await expectProblem(res, 400, 'validation_failed')
      expect(pointers(problem)).toEqual(['path:/email'])
    }
    expect(sent).toEqual([
      'http://users.test/v1/users/by-email/a%2Fb%40example.com',
      'http://users.test/v1/users/by-email/a%3Fb%40example.com',
      'http://users.test/v1/users/by-email/a%23b%40example.com',
    ])
  })

  it('answers 304 for a current If-None-Match', async () => {
    const user = await t.createUser()
    const res = await t.api.v1.users['by-email'][':email'].$get(
      { param: { email: user.email } },
      { headers: { 'If-None-Match': '"1"' } },
    )
    expect(res.status).toBe(304)
    expect(res.headers.get('etag')).toBe('"1"')
  })

  it('returns 404 for an unknown email', async () => {
    const res = await t.api.v1.users['by-email'][':email'].$get({ param: { email: 'nobody@example.com' } })
    await expectProblem(res, 404, 'user_not_found')
  })

  it('returns 400 for a malformed email', async () => {
    await expectProblem(await t.raw('/v1/users/by-email/not-an-email'), 400, 'validation_failed')
  })
})
