import { describe, expect, it } from 'bun:test'
import { testConfig } from '../src/config'
import { newUser, useTestApp } from './helpers/context'

/**
 * The compatibility routes name a user by username. A write through them must act on the user
 * that has the name when the write happens: a rename that was acknowledged first takes the name
 * away from it (linearizability: the rename's 200 orders it before the legacy write, which then
 * names nobody).
 */
const t = await useTestApp({ name: 'races_legacy', deps: { config: testConfig({ legacyRoutes: true }) } })

const send = (path: string, method: string, body?: unknown) => t.send(method, path, body)
const rename = (id: string, username: string) => send(`/v1/users/${id}`, 'PATCH', { username })
const ROUNDS = 30

describe('compatibility writes racing a rename', () => {
  it('DELETE /delete/{username} never deletes the user a rename took the name from', async () => {
    let raced = 0
    for (let round = 0; round < ROUNDS; round++) {
      const user = await t.createUser()
      const [renamed, deleted] = await Promise.all([
        rename(user.id, `${user.username}-renamed`),
        send(`/delete/${user.username}`, 'DELETE'),
      ])
      if (renamed.status !== 200) {
        // The delete came first: then it is the rename that finds nobody.
        expect(`${renamed.status} ${deleted.status}`).toBe('404 200')
        continue
      }
      raced++
      // The rename came first: the name named nobody when the delete ran.
      expect(`round ${round}: delete after rename ${deleted.status}`).toBe(`round ${round}: delete after rename 404`)
      expect((await send(`/v1/users/${user.id}`, 'GET')).status).toBe(200)
    }
    expect(raced).toBeGreaterThan(0)
  }, 30_000)

  // A new address is written from a read of the user; a role alone in one guarded write.
  for (const [path, change] of [
    ['read then written', () => ({ email: newUser().email })],
    ['one guarded write', () => ({ role: 'admin' })],
  ] as const) {
    it(`PUT /update/{username} never changes the user a rename took the name from (${path})`, async () => {
      await neverChangesRenamed(change)
    }, 30_000)
  }
})

async function neverChangesRenamed(change: () => Record<string, unknown>) {
  for (let round = 0; round < ROUNDS; round++) {
    const user = await t.createUser()
    const [renamed, updated] = await Promise.all([
      rename(user.id, `${user.username}-renamed`),
      send(`/update/${user.username}`, 'PUT', change()),
    ])
    expect(renamed.status).toBe(200)
    if (updated.status === 404) {
      // The name named nobody: the renamed user is as the rename left it.
      const stored = (await (await send(`/v1/users/${user.id}`, 'GET')).json()) as Record<string, unknown>
      expect({ round, email: stored.email, role: stored.role }).toEqual({ round, email: user.email, role: user.role })
      continue
    }
    // Updated first: the answer shows the user under the name the request gave.
    expect(updated.status).toBe(200)
    expect(`round ${round}: ${(await updated.json()).username}`).toBe(`round ${round}: ${user.username}`)
  }
}
