import type { ProblemCode } from '../../src/client'

/**
 * The hostile-input corpus's shape and builders (the cases are in corpus.*.ts, gathered in corpus.ts): requests an attacker or a broken client
 * might send, each with the refusal it must get. Every case is also checked to store nothing and to
 * leave the service answering. `{id}` in a path is the id of an existing user. Requests are sent by
 * a caller with users:read and users:write but not users:admin, so privilege escalation shows
 * (cases marked `caller: 'admin'` also hold users:admin, to reach what only it may call).
 */
export type HostileCase = {
  name: string
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  headers?: Record<string, string>
  /** A string is sent as is (so duplicate keys and `__proto__` survive); bytes for invalid UTF-8. */
  body?: string | Uint8Array | (() => ReadableStream<Uint8Array>)
  /** Content-Type; `application/json` when there is a body, unless set to null. */
  contentType?: string | null
  status: number
  /** More than one code where which layer refuses (parser or schema) is not the point. */
  code: ProblemCode | ProblemCode[]
  /** The first validation error's pointer must start with this (`body:/username`). */
  pointer?: string
  /** Sent with users:admin too (restore, erase, the reads of deleted users); users:read and users:write otherwise. */
  caller?: 'admin'
}

export type Method = HostileCase['method']
type Body = HostileCase['body']
type Extra = Pick<HostileCase, 'headers' | 'contentType' | 'caller'>

/** 400 validation_failed with the first error at `pointer`. */
export const invalid = (
  name: string,
  method: Method,
  path: string,
  body: Body,
  pointer: string,
  extra: Extra = {},
): HostileCase => ({
  name,
  method,
  path,
  body,
  status: 400,
  code: 'validation_failed',
  pointer,
  ...extra,
})
export const refused = (
  name: string,
  method: Method,
  path: string,
  body: Body,
  status: number,
  code: HostileCase['code'],
  extra: Extra = {},
) => ({ name, method, path, body, status, code, ...extra }) satisfies HostileCase

export const OPERATORS: Record<string, unknown> = {
  $gt: { $gt: '' },
  $ne: { $ne: null },
  $where: { $where: 'sleep(1000) || true' },
  $regex: { $regex: '.*' },
  'dotted key': { 'a.b': 1 },
}
export const USER_FIELDS = [
  'username',
  'email',
  'displayName',
  'password',
  'metadata',
  'role',
  'status',
  'emailVerified',
  'givenName',
  'familyName',
  'externalId',
  'disabledUntil',
  'disabledReason',
  'passwordHash',
]
export const QUERY_PARAMETERS = ['role', 'status', 'q', 'sort', 'limit', 'cursor', 'includeTotal', 'deleted']

const fresh = () => {
  const n = crypto.randomUUID().slice(0, 8)
  return { username: `hostile${n}`, email: `hostile${n}@example.com` }
}
/** A valid create body plus `fields`. */
export const create = (fields: Record<string, unknown> = {}) => JSON.stringify({ ...fresh(), ...fields })
/** A valid create body with raw JSON text appended (duplicate keys, `__proto__`, 1e400 survive). */
export const createWith = (json: string) => `${create().slice(0, -1)},${json}}`
/** `{"a": {"a": ... 1 ...}}` nested `levels` deep, built as text (no recursion). */
export const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
export const deepArray = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`
export const TEN_MB = 10 * 1024 * 1024
/** 10 MB in 64 KiB chunks with no Content-Length: the limit must hold while streaming too. */
export const tenMegabyteStream = () => {
  const chunk = new TextEncoder().encode(`{"displayName":"${'x'.repeat(65_536)}`)
  let sent = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= TEN_MB) return controller.close()
      controller.enqueue(chunk)
      sent += chunk.length
    },
  })
}
/** JSON text with raw bytes spliced in where `@@` stands. */
export const withBytes = (json: string, bytes: number[]) => {
  const [before = '', after = ''] = json.split('@@')
  const encoder = new TextEncoder()
  return new Uint8Array([...encoder.encode(before), ...bytes, ...encoder.encode(after)])
}
export const enc = encodeURIComponent
export const ID = '/v1/users/{id}'
export const USERS = '/v1/users'
export const VERIFY = '/v1/auth/verify'
