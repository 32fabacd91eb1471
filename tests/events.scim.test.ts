import { describe, expect, it } from 'bun:test'
import { createAuthenticator } from '../src/auth/authenticate'
import { testConfig } from '../src/config'
import type { EventList } from '../src/events/events.schemas'
import { useTestApp } from './helpers/context'
import { startRelay } from './helpers/events'
import { apiKey, type ScimUserBody, scimClient, scimUser } from './helpers/scim'

/**
 * SCIM is one more surface over the users service, so its writes carry their events like every
 * other (issue 16: "through /v1, the compatibility routes, SCIM and the importer"): what an
 * identity provider does reaches the feed, and a refused SCIM write leaves none.
 */
const scim = apiKey('identity-provider', ['scim'])
const reader = apiKey('events-reader', ['events:read'])
const authenticator = createAuthenticator({ apiKeys: [scim.entry, reader.entry], jwt: undefined })
const t = await useTestApp({ name: 'events_scim', deps: { authenticator, config: testConfig({ userRetentionDays: 30 }) } })
const relay = await startRelay(t)
const api = scimClient(t.raw, scim.key)

async function eventsOf(userId: string) {
  await relay.drain()
  const res = await t.raw(`/v1/events?userId=${userId}&limit=500`, { headers: { authorization: `Bearer ${reader.key}` } })
  expect(res.status).toBe(200)
  return ((await res.json()) as EventList).items
}

describe('change events of SCIM writes', () => {
  it('records create, PUT, PATCH active false, and DELETE as events, in version order', async () => {
    const created = await api.post('/Users', scimUser({ displayName: 'Provisioned' }))
    expect(created.status).toBe(201)
    const user = (await created.json()) as ScimUserBody
    const replaced = await api.put(`/Users/${user.id}`, { ...scimUser({ displayName: 'Renamed' }), userName: user.userName })
    expect(replaced.status).toBe(200)
    const deactivated = await api.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'active', value: false }])
    expect(deactivated.status).toBe(200)
    expect((await api.delete(`/Users/${user.id}`)).status).toBe(204)

    const events = await eventsOf(user.id as string)
    expect(events.map((event) => [event.type, event.userVersion])).toEqual([
      ['user.created', 1],
      ['user.updated', 2],
      ['user.updated', 3],
      ['user.deleted', 4],
    ])
    expect(events[0]?.data).toMatchObject({ user: { username: user.userName, displayName: 'Provisioned' } })
    expect(events[1]?.data).toMatchObject({ user: { displayName: 'Renamed' } })
    expect(events[1]?.data).toMatchObject({ changed: expect.arrayContaining(['displayName']) })
    expect(events[2]?.data).toMatchObject({ user: { status: 'disabled' }, changed: ['status'] })
  })

  it('records a removed password, and the changes after it, with the user as stored (no password)', async () => {
    const created = await api.post('/Users', { ...scimUser(), password: 'correct horse battery staple' })
    expect(created.status).toBe(201)
    const user = (await created.json()) as ScimUserBody
    expect((await api.patch(`/Users/${user.id}`, [{ op: 'remove', path: 'password' }])).status).toBe(200)
    expect((await api.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'displayName', value: 'After' }])).status).toBe(200)

    // The replay once set hasPassword on every password change, a removal too: the relay found it
    // did not reach the stored user and held back this user's events from then on.
    const events = await eventsOf(user.id as string)
    expect(events.map((event) => [event.type, event.userVersion])).toEqual([
      ['user.created', 1],
      ['user.updated', 2],
      ['user.updated', 3],
    ])
    expect(events[0]?.data).toMatchObject({ user: { hasPassword: true } })
    expect(events[1]?.data).toMatchObject({ user: { hasPassword: false }, changed: ['hasPassword', 'password'] })
    expect(events[2]?.data).toMatchObject({ user: { hasPassword: false, displayName: 'After' }, changed: ['displayName'] })
  })

  it('records nothing for a SCIM write that is refused', async () => {
    const first = (await (await api.post('/Users', scimUser())).json()) as ScimUserBody
    const clash = await api.post('/Users', scimUser({ userName: first.userName }))
    expect(clash.status).toBe(409)
    const stale = await api.patch(`/Users/${first.id}`, [{ op: 'replace', path: 'displayName', value: 'x' }], {
      'if-match': 'W/"9"',
    })
    expect(stale.status).toBe(412)
    const events = await eventsOf(first.id as string)
    expect(events.map((event) => event.type)).toEqual(['user.created'])
  })
})
