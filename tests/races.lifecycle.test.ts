import { describe, expect, it } from 'bun:test'
import { useTestApp } from './helpers/context'

/**
 * Lifecycle writes racing ordinary ones on one user. An erase holds the user's changes off while
 * it replaces the document (they answer 503 "being erased" meanwhile); an erase refused by
 * If-Match must not hold anything: it erases nothing, so no change may be told to wait for it.
 */
const t = await useTestApp({ name: 'races_lifecycle' })

const { send } = t

describe('POST /v1/users/{id}/erase refused by If-Match', () => {
  it('never makes a concurrent PATCH answer 503: the PATCHes all land, the erase is 412', async () => {
    for (let round = 0; round < 30; round++) {
      const user = await t.createUser()
      const [erase, ...patches] = await Promise.all([
        send('POST', `/v1/users/${user.id}/erase`, undefined, { 'If-Match': '"99"' }),
        // One guarded write each, and read-then-write merges.
        ...Array.from({ length: 4 }, (_, i) => send('PATCH', `/v1/users/${user.id}`, { displayName: `d${i}` })),
        ...Array.from({ length: 2 }, (_, i) => send('PATCH', `/v1/users/${user.id}`, { metadata: { [`k${i}`]: i } })),
      ])
      expect({ round, erase: erase?.status, patches: patches.map((res) => res.status) }).toEqual({
        round,
        erase: 412,
        patches: Array(6).fill(200),
      })
    }
  }, 30_000)
})
