/**
 * Real calls against a running users-service, written as a consumer would: narrow on `res.status`
 * to read typed bodies. Run with USERS_SERVICE_URL set; prints "consumer ok" when every step held.
 */
import { createUsersClient, type User } from 'users-service/client'

const baseUrl = process.env.USERS_SERVICE_URL
if (!baseUrl) throw new Error('set USERS_SERVICE_URL')

const client = createUsersClient({ baseUrl, headers: { 'X-Request-Id': 'consumer-fixture' } })
const run = Date.now().toString(36)

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`consumer check failed: ${message}`)
}

async function create(name: string): Promise<{ user: User; etag: string }> {
  const res = await client.v1.users.$post({ json: { username: `${name}${run}`, email: `${name}${run}@example.com` } })
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status}`)
  check(res.headers.get('x-request-id') === 'consumer-fixture', 'default headers are sent')
  const user: User = await res.json()
  return { user, etag: res.headers.get('etag') ?? '' }
}

const { user: alice, etag } = await create('alice')
check(alice.version === 1 && etag === '"1"', 'a new user is at version 1')

const got = await client.v1.users[':id'].$get({ param: { id: alice.id } })
if (got.status !== 200) throw new Error(`get: ${got.status}`)
check((await got.json()).username === alice.username, 'get returns the user')

// List with a cursor: three users sharing a prefix, two per page.
await create('bob')
await create('bea')
const first = await client.v1.users.$get({ query: { q: `b`, sort: 'username', limit: '1' } })
if (first.status !== 200) throw new Error(`list: ${first.status}`)
const page1 = await first.json()
check(page1.items.length === 1 && page1.nextCursor, 'first page has a cursor')
const second = await client.v1.users.$get({ query: { q: 'b', sort: 'username', limit: '1', cursor: page1.nextCursor } })
if (second.status !== 200) throw new Error(`list page 2: ${second.status}`)
const page2 = await second.json()
check(page2.items[0]?.id !== page1.items[0]?.id, 'the second page moves on')

const patched = await client.v1.users[':id'].$patch(
  { param: { id: alice.id }, json: { displayName: 'Alice', metadata: { plan: 'pro' } } },
  { headers: { 'If-Match': etag } },
)
if (patched.status !== 200) throw new Error(`patch: ${patched.status}`)
check((await patched.json()).version === 2, 'the patch bumped the version')

const stale = await client.v1.users[':id'].$patch(
  { param: { id: alice.id }, json: { displayName: 'Lost' } },
  { headers: { 'If-Match': etag } },
)
if (stale.status !== 412) throw new Error(`stale patch: ${stale.status}`)
check((await stale.json()).code === 'precondition_failed', 'a stale If-Match is refused')

const deleted = await client.v1.users[':id'].$delete({ param: { id: alice.id } })
check(deleted.status === 204, 'delete answers 204')

const gone = await client.v1.users[':id'].$get({ param: { id: alice.id } })
if (gone.status !== 404) throw new Error(`get after delete: ${gone.status}`)
const problem = await gone.json()
check(problem.code === 'user_not_found', 'a deleted user is not found')

console.log('consumer ok')
