import { describe, expect, it } from 'bun:test'
import { useTestApp } from './helpers/context'
import { scimClient } from './helpers/scim'

/**
 * Concurrent SCIM PATCHes of one user. Each applies its operations to the user as read and writes
 * at that version; a lost race reads again. One writer wins each round, so N concurrent writers
 * finish within N rounds: none may answer 503 while the rounds allowed exceed the writers.
 */
const t = await useTestApp({ name: 'races_scim' })
// Auth off in tests: any token passes the gate.
const scim = scimClient(t.raw, 'unused')

describe('PATCH /scim/v2/Users/{id} from 30 writers at once', () => {
  it('lands every PATCH, each at its own version, none lost', async () => {
    for (let round = 0; round < 3; round++) {
      const user = await t.createUser()
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          scim.patch(`/Users/${user.id}`, [{ op: 'replace', path: i % 2 ? 'displayName' : 'name.givenName', value: `w${i}` }]),
        ),
      )
      expect({ round, statuses: answers.map((res) => res.status) }).toEqual({ round, statuses: Array(30).fill(200) })
      const versions = await Promise.all(
        answers.map(async (res) => ((await res.json()) as { meta: { version: string } }).meta.version),
      )
      expect(new Set(versions).size).toBe(30)
      expect((await t.collection.findOne({ username: user.username }))?.version).toBe(31)
    }
  }, 30_000)
})
