import { expect } from 'bun:test'
import type { Problem, ProblemCode } from '../../src/client'

/** Asserts a response is an RFC 9457 problem with this status and code; returns its body. */
type AnyResponse = { status: number; headers: Headers; json(): Promise<unknown> }

export async function expectProblem(res: AnyResponse, status: number, code: ProblemCode): Promise<Problem> {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toStartWith('application/problem+json')
  const body = (await res.json()) as Problem
  expect(body).toMatchObject({ type: 'about:blank', status, code })
  expect(body.title.length).toBeGreaterThan(0)
  expect(body.detail.length).toBeGreaterThan(0)
  expect(body.requestId).toBe(res.headers.get('x-request-id')!)
  return body
}

/** The pointers of a validation problem's errors, sorted. */
export function pointers(problem: Problem): string[] {
  return (problem.errors ?? []).map((e) => `${e.location}:${e.pointer}`).sort()
}
