import { describe, expect, it } from 'bun:test'
import { json, useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'

/**
 * A validation problem lists at most 20 issues and counts the rest (issue 13, finding 6): before,
 * a 58 KB PATCH of 5,900 bad metadata keys got a 979 KB answer, an amplification of 17×.
 */
const t = await useTestApp({ name: 'validation_limits' })

const FEW_KB = 8 * 1024

/** `{"k.0":1,"k.1":1,...}`: keys with a dot, which metadata refuses, one issue each. */
function badKeys(count: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`k.${i}`, 1]))
}

describe('validation problems', () => {
  it('lists 20 issues and counts the rest for a 58 KB PATCH with 5,900 bad metadata keys', async () => {
    const user = await t.createUser()
    const body = JSON.stringify({ metadata: badKeys(5900) })
    expect(body.length).toBeGreaterThan(58_000)
    const res = await t.raw(`/v1/users/${user.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body,
    })
    const text = await res.clone().text()
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(problem.errors).toHaveLength(20)
    // One issue per bad key, and metadata's size limit adds its own.
    expect(problem.errorsTruncated).toBeGreaterThanOrEqual(5900 - 20)
    expect(problem.errors?.[0]).toMatchObject({ location: 'body', pointer: '/metadata/k.0' })
    expect(text.length).toBeLessThan(FEW_KB)
  })

  it('lists 20 issues and counts the rest for 5,900 unknown top-level fields', async () => {
    const body = JSON.stringify({ username: 'amplify.me', email: 'amplify@example.com', ...badKeys(5900) })
    const res = await t.raw('/v1/users', json(body))
    const text = await res.clone().text()
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(problem.errors).toHaveLength(20)
    expect(problem.errors?.every((issue) => issue.code === 'unknown_field')).toBe(true)
    expect(problem.errorsTruncated).toBe(5900 - 20)
    expect(text.length).toBeLessThan(FEW_KB)
  })

  it('stays within a few KB of the request when the offending names are long', async () => {
    // 20 unknown fields of 2,000 characters each: listing all twenty would echo the whole request.
    const long = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${String(i).padStart(2, '0')}${'x'.repeat(2000)}`, 1]))
    const body = JSON.stringify({ username: 'amplify.long', email: 'long@example.com', ...long })
    const res = await t.raw('/v1/users', json(body))
    const text = await res.clone().text()
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(problem.errors?.length).toBeGreaterThanOrEqual(1)
    expect((problem.errors?.length ?? 0) + (problem.errorsTruncated ?? 0)).toBe(30)
    expect(text.length).toBeLessThan(body.length + FEW_KB)
  })

  it('lists every issue, with no count, when there are 20 or fewer', async () => {
    const res = await t.raw('/v1/users', json({ username: 'few.issues', email: 'few@example.com', ...badKeys(20) }))
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(problem.errors).toHaveLength(20)
    expect(problem).not.toHaveProperty('errorsTruncated')
  })
})
