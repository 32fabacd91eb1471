import { describe, expect, it } from 'bun:test'
import { useTestApp } from './helpers/context'

/**
 * Concurrent changes of one webhook endpoint. Each is a read and a write at the version read; a
 * lost race reads again. Without If-Match every change must land (one wins each round, so N
 * writers finish within N rounds), and with one ETag exactly one may.
 */
const t = await useTestApp({ name: 'races_webhooks' })

const { send } = t

async function endpoint(n: number) {
  const res = await send('POST', '/v1/webhooks', { url: `https://hooks${n}.example.com/in` })
  expect(res.status).toBe(201)
  return { id: ((await res.json()) as { id: string }).id, etag: res.headers.get('etag') as string }
}

describe('concurrent changes of one webhook endpoint', () => {
  it('without If-Match: 16 PATCHes and 4 rotations all land, each at its own version', async () => {
    for (let round = 0; round < 3; round++) {
      const { id } = await endpoint(round)
      const answers = await Promise.all([
        ...Array.from({ length: 16 }, (_, i) => send('PATCH', `/v1/webhooks/${id}`, { description: `writer ${i}` })),
        ...Array.from({ length: 4 }, () => send('POST', `/v1/webhooks/${id}/rotate-secret`)),
      ])
      expect({ round, statuses: answers.map((res) => res.status) }).toEqual({ round, statuses: Array(20).fill(200) })
      const versions = answers.map((res) => Number(JSON.parse(res.headers.get('etag') as string)))
      expect(versions.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2))
    }
  }, 30_000)

  it('with one ETag: exactly one of 10 PATCHes and rotations wins, the rest 412 with the new ETag', async () => {
    for (let round = 0; round < 3; round++) {
      const { id, etag } = await endpoint(10 + round)
      const answers = await Promise.all([
        ...Array.from({ length: 8 }, (_, i) =>
          send('PATCH', `/v1/webhooks/${id}`, { description: `w${i}` }, { 'If-Match': etag }),
        ),
        ...Array.from({ length: 2 }, () => send('POST', `/v1/webhooks/${id}/rotate-secret`, undefined, { 'If-Match': etag })),
      ])
      const statuses = answers.map((res) => res.status)
      expect(statuses.filter((status) => status === 200)).toHaveLength(1)
      expect(statuses.filter((status) => status === 412)).toHaveLength(9)
      for (const res of answers.filter((answer) => answer.status === 412)) expect(res.headers.get('etag')).toBe('"2"')
    }
  }, 30_000)
})
