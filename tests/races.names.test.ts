import { describe, expect, it } from 'bun:test'
import { testConfig } from '../src/config'
import { newUser, useTestApp } from './helpers/context'

/**
 * One username (and one address) claimed at once through every surface that can claim it: a
 * rename, a /v1 create, a compatibility create, a SCIM create, each in another case. The unique
 * indexes on the lower-cased keys decide: exactly one wins, the others answer 409, never 5xx.
 */
const t = await useTestApp({ name: 'races_names', deps: { config: testConfig({ legacyRoutes: true }) } })

const { send } = t
const scimCreate = (userName: string, email: string) =>
  send(
    'POST',
    '/scim/v2/Users',
    { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, emails: [{ value: email, primary: true }] },
    { 'content-type': 'application/scim+json' },
  )

describe('one username claimed through every surface at once', () => {
  it('has exactly one winner per round, and one stored owner', async () => {
    for (let round = 0; round < 15; round++) {
      const mover = await t.createUser()
      const { username } = newUser()
      const other = () => newUser().email
      const answers = await Promise.all([
        send('PATCH', `/v1/users/${mover.id}`, { username }),
        send('POST', '/v1/users', { username: username.toUpperCase(), email: other() }),
        send('POST', '/create', { username: `${username[0]!.toUpperCase()}${username.slice(1)}`, email: other() }),
        scimCreate(username.replace(/user/, 'USER'), other()),
      ])
      const statuses = answers.map((res) => res.status)
      expect({ round, wins: statuses.filter((status) => status < 300).length }).toEqual({ round, wins: 1 })
      expect({ round, rest: statuses.filter((status) => status >= 300 && status !== 409) }).toEqual({ round, rest: [] })
      expect(await t.collection.countDocuments({ usernameKey: username.toLowerCase() })).toBe(1)
    }
  }, 30_000)

  it('swapping two usernames at once never gives both users one name, nor a 5xx', async () => {
    for (let round = 0; round < 15; round++) {
      const [a, b] = [await t.createUser(), await t.createUser()]
      const answers = await Promise.all([
        send('PATCH', `/v1/users/${a.id}`, { username: b.username.toUpperCase() }),
        send('PATCH', `/v1/users/${b.id}`, { username: a.username.toUpperCase() }),
      ])
      // Each name is still held by its owner when the other asks for it: both are refused.
      expect({ round, statuses: answers.map((res) => res.status) }).toEqual({ round, statuses: [409, 409] })
    }
  }, 30_000)
})
