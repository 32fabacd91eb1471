/**
 * Every /v1 route, called as another service calls it: narrow on `res.status` (or `res.ok`) and the
 * body is typed, a User or UserList on success and a Problem otherwise. Compiled by each consumer
 * setup of tests/client.test.ts against the packed package, and run by main.ts against the real
 * service on Bun and on Node.
 */
import {
  type CreatedWebhook,
  type CreateUserBody,
  type CreateWebhookBody,
  type ListUsersQuery,
  type Problem,
  type ProblemCode,
  type UpdateUserBody,
  type User,
  type UserList,
  type UsersClient,
  verifyWebhook,
  type WebhookList,
  WebhookVerificationError,
} from '@users-service/client'

/** A bcrypt hash made by Python's bcrypt, as another system would hand it over. */
const IMPORTED_HASH = '$2b$04$uVnA.M1mkdPOLQJY71jwEe0NNg0UcXpnEJ9Iy.4Hls39q/jm3LwoC'

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`consumer check failed: ${message}`)
}

/** A status this step did not expect: stop, and say what the service answered. */
async function unexpected(step: string, res: { status: number; text(): Promise<string> }): Promise<never> {
  throw new Error(`${step}: unexpected ${res.status} ${await res.text()}`)
}

/** Calls every /v1 route; `tag` keeps this run's users apart from any other run's. */
export async function useEveryRoute(client: UsersClient, tag: string): Promise<string[]> {
  const steps: string[] = []
  const password = 'correct horse battery staple'
  const body: CreateUserBody = {
    username: `${tag}.alice`,
    email: `${tag}.Alice@Example.com`,
    password,
    displayName: 'Alice',
    metadata: { plan: 'pro', prefs: { theme: 'dark' } },
  }

  // POST /v1/users: 201 with the user and its ETag; a second create with the same username is a 409 problem.
  const created = await client.v1.users.$post({ json: body }, { headers: { 'Idempotency-Key': `${tag}-create` } })
  if (created.status !== 201) return unexpected('create', created)
  const alice: User = await created.json()
  const etag = created.headers.get('etag') ?? ''
  check(alice.version === 1 && etag === '"1"' && alice.hasPassword, 'a new user is at version 1, with a password')
  const taken = await client.v1.users.$post({ json: { ...body, email: `${tag}.other@example.com` } })
  if (taken.status !== 409) return unexpected('create again', taken)
  const conflict: Problem = await taken.json()
  const code: ProblemCode = conflict.code
  check(code === 'username_taken', 'a second alice is refused as username_taken')
  steps.push('create')

  // The v1.1 fields: names, externalId (unique, 409 external_id_taken), emailVerified (reset by a
  // new address); passwordHash and disabledUntil need users:admin, which this caller lacks (403).
  const profile: CreateUserBody = {
    username: `${tag}_contoso.com#EXT#@fabrikam.example`,
    email: `${tag}.guest@example.com`,
    givenName: 'Grace',
    familyName: 'Hopper',
    externalId: `${tag}-00u1`,
    emailVerified: true,
  }
  const guestCreated = await client.v1.users.$post({ json: profile })
  if (guestCreated.status !== 201) return unexpected('create with profile fields', guestCreated)
  const guest: User = await guestCreated.json()
  check(
    guest.givenName === 'Grace' && guest.externalId === profile.externalId && guest.emailVerified && !guest.lastSignInAt,
    'a new user has the fields sent, and no sign-in yet',
  )
  const sameExternal = await client.v1.users.$post({
    json: { username: `${tag}.x`, email: `${tag}.x@example.com`, externalId: profile.externalId },
  })
  if (sameExternal.status !== 409) return unexpected('create with a taken externalId', sameExternal)
  check((await sameExternal.json()).code === 'external_id_taken', 'a taken externalId is external_id_taken')
  const guestByName = await client.v1.users['by-username'][':username'].$get({ param: { username: profile.username } })
  if (guestByName.status !== 200) return unexpected('get a UPN by username', guestByName)
  const moved = await client.v1.users[':id'].$patch({ param: { id: guest.id }, json: { email: `${tag}.moved@example.com` } })
  if (moved.status !== 200) return unexpected('patch email', moved)
  check(!(await moved.json()).emailVerified, 'a new address is unverified')
  const imported = await client.v1.users.$post({
    json: { username: `${tag}.imported`, email: `${tag}.imported@example.com`, passwordHash: IMPORTED_HASH },
  })
  // The consumer's key holds users:admin (restore and erase below need it), which importing a hash needs.
  if (imported.status !== 201) return unexpected('import a hash with users:admin', imported)
  const importedUser = await imported.json()
  check(importedUser.hasPassword && !('passwordHash' in importedUser), 'an imported hash sets a password and is never returned')
  const both = await client.v1.users.$post({
    json: { username: `${tag}.both`, email: `${tag}.both@example.com`, password: 'a password too', passwordHash: IMPORTED_HASH },
  })
  if (both.status !== 400) return unexpected('create with both password and passwordHash', both)
  const exclusive: Problem = await both.json()
  check(
    exclusive.code === 'validation_failed' && exclusive.disabledUntil === undefined,
    'password and passwordHash exclude each other',
  )
  steps.push('profile fields')

  // GET /v1/users/{id}: 200, then 304 while the ETag is current, and a 400 problem that lists what is wrong.
  const byId = await client.v1.users[':id'].$get({ param: { id: alice.id } })
  if (byId.status !== 200) return unexpected('get by id', byId)
  check((await byId.json()).username === alice.username, 'get by id returns the user')
  const unchanged = await client.v1.users[':id'].$get({ param: { id: alice.id } }, { headers: { 'If-None-Match': etag } })
  check(unchanged.status === 304, 'If-None-Match with the current ETag answers 304')
  const invalid = await client.v1.users[':id'].$get({ param: { id: 'not-an-id' } })
  if (invalid.status !== 400) return unexpected('get by a malformed id', invalid)
  const validation = await invalid.json()
  check(
    validation.code === 'validation_failed' && validation.errors?.[0]?.location === 'path',
    'a malformed id is a path problem',
  )
  steps.push('get by id')

  // GET /v1/users/by-username/{username} and /by-email/{email} (any letter case).
  const byUsername = await client.v1.users['by-username'][':username'].$get({ param: { username: alice.username } })
  if (byUsername.status !== 200) return unexpected('get by username', byUsername)
  check((await byUsername.json()).id === alice.id, 'get by username finds alice')
  steps.push('get by username')
  const byEmail = await client.v1.users['by-email'][':email'].$get({ param: { email: body.email.toLowerCase() } })
  if (byEmail.status !== 200) return unexpected('get by email', byEmail)
  check((await byEmail.json()).id === alice.id, 'get by email finds alice')
  steps.push('get by email')

  // GET /v1/users: three users share a prefix; two pages of two, linked by the cursor.
  for (const name of ['b1', 'b2', 'b3']) {
    const res = await client.v1.users.$post({ json: { username: `${tag}.${name}`, email: `${tag}.${name}@example.com` } })
    if (res.status !== 201) return unexpected(`create ${name}`, res)
  }
  const query: ListUsersQuery = { q: `${tag}.b`, sort: 'username', limit: '2', includeTotal: 'true' }
  const first = await client.v1.users.$get({ query })
  if (!first.ok) return unexpected('list', first)
  const page1: UserList = await first.json()
  check(page1.items.length === 2 && page1.total === 3 && page1.nextCursor !== null, 'the first page has two users and a cursor')
  const second = await client.v1.users.$get({ query: { ...query, cursor: page1.nextCursor } })
  if (second.status !== 200) return unexpected('list page 2', second)
  const page2 = await second.json()
  const names = [...page1.items, ...page2.items].map((user) => user.username)
  check(names.join() === `${tag}.b1,${tag}.b2,${tag}.b3` && page2.nextCursor === null, 'the second page ends the list')
  steps.push('list with cursor')

  // PATCH /v1/users/{id}: with the current ETag as If-Match, 200; with the old one again, 412.
  const patch: UpdateUserBody = { displayName: 'Alice W.', metadata: { prefs: null } }
  const patched = await client.v1.users[':id'].$patch({ param: { id: alice.id }, json: patch }, { headers: { 'If-Match': etag } })
  if (patched.status !== 200) return unexpected('patch', patched)
  const updated = await patched.json()
  check(updated.version === 2 && updated.displayName === 'Alice W.', 'the patch applied')
  check(JSON.stringify(updated.metadata) === '{"plan":"pro"}', 'metadata was merged: null removed prefs')
  const stale = await client.v1.users[':id'].$patch(
    { param: { id: alice.id }, json: { displayName: 'Lost' } },
    { headers: { 'If-Match': etag } },
  )
  if (stale.status !== 412) return unexpected('stale patch', stale)
  check((await stale.json()).code === 'precondition_failed', 'a stale If-Match is refused')
  const current = stale.headers.get('etag') ?? ''
  check(current === '"2"', 'the 412 names the current version')
  steps.push('patch with If-Match, stale 412')

  // POST /v1/auth/verify: the right password gives the user, a wrong one a 401 problem. A front end
  // passes its end user's address as `ip`, so failures count per address, not against its key.
  const verified = await client.v1.auth.verify.$post({ json: { login: alice.username, password, ip: '203.0.113.7' } })
  if (verified.status !== 200) return unexpected('verify', verified)
  const signedIn = (await verified.json()).user
  check(signedIn.id === alice.id && typeof signedIn.lastSignInAt === 'string', 'verify returns the user, signed in now')
  const refused = await client.v1.auth.verify.$post({ json: { login: alice.username, password: `${password}!` } })
  if (refused.status !== 401) return unexpected('verify a wrong password', refused)
  check((await refused.json()).code === 'invalid_credentials', 'a wrong password is invalid_credentials')
  steps.push('verify')

  // DELETE /v1/users/{id}: 204; then the user is gone (404 problem). The ETag from before the
  // sign-in still holds: a sign-in is not a change.
  const deleted = await client.v1.users[':id'].$delete({ param: { id: alice.id } }, { headers: { 'If-Match': current } })
  if (deleted.status !== 204) return unexpected('delete', deleted)
  const gone = await client.v1.users[':id'].$get({ param: { id: alice.id } })
  if (gone.status !== 404) return unexpected('get after delete', gone)
  check((await gone.json()).code === 'user_not_found', 'a deleted user is not found')
  steps.push('delete')

  // GET /v1/users/{id}?includeDeleted=true and GET /v1/users?deleted=true (users:admin): the deleted
  // user, with deletedAt and purgeAt. includeDeleted is a plain parameter of getUser (so that no
  // ordinary read has to pass a query); the client sends a `query` it is given in a variable.
  const withDeleted = { param: { id: alice.id }, query: { includeDeleted: 'true' } }
  const deletedRead = await client.v1.users[':id'].$get(withDeleted)
  if (deletedRead.status !== 200) return unexpected('get a deleted user', deletedRead)
  const kept: User = await deletedRead.json()
  check(kept.deletedAt !== undefined && kept.purgeAt !== undefined, 'a deleted user carries deletedAt and purgeAt')
  const bin = await client.v1.users.$get({ query: { q: `${tag}.alice`, deleted: 'true' } })
  if (bin.status !== 200) return unexpected('list deleted users', bin)
  check(
    (await bin.json()).items.some((user) => user.id === alice.id),
    'deleted=true lists the deleted user',
  )
  steps.push('read deleted')

  // POST /v1/users/{id}/restore: 200 with the user live again at the next version.
  const restored = await client.v1.users[':id'].restore.$post(
    { param: { id: alice.id } },
    { headers: { 'If-Match': `"${kept.version}"` } },
  )
  if (restored.status !== 200) return unexpected('restore', restored)
  const back = await restored.json()
  check(back.version === kept.version + 1 && back.deletedAt === undefined, 'the restored user is live at the next version')
  steps.push('restore')

  // POST /v1/users/{id}/erase: 204; then every read is 404, and so is a second erase.
  const erased = await client.v1.users[':id'].erase.$post({ param: { id: alice.id } })
  if (erased.status !== 204) return unexpected('erase', erased)
  const again = await client.v1.users[':id'].erase.$post({ param: { id: alice.id } })
  if (again.status !== 404) return unexpected('erase again', again)
  check((await again.json()).code === 'user_not_found', 'an erased user is not found')
  steps.push('erase')

  await useWebhooks(client, tag)
  steps.push('webhooks')
  // GET /v1/events (events:read): the change feed. Store nextCursor (never null) and pass it back as
  // `after`; waitSeconds holds a request that finds nothing newer until something is. Alice's events
  // run from user.created to user.erased, and once the erasure is published every event of hers
  // keeps ids only.
  const types: string[] = []
  let cursor: string | undefined
  for (let round = 0; round < 30 && types.at(-1) !== 'user.erased'; round++) {
    const res = await client.v1.events.$get({
      query: { userId: alice.id, waitSeconds: '2', limit: '100', ...(cursor ? { after: cursor } : {}) },
    })
    if (res.status !== 200) return unexpected('events', res)
    const page = await res.json()
    for (const event of page.items) types.push(event.type)
    cursor = page.nextCursor
  }
  check(types[0] === 'user.created' && types.at(-1) === 'user.erased', `alice's events run from created to erased: ${types}`)
  const replayed = await client.v1.events.$get({ query: { userId: alice.id, type: ['user.created', 'user.erased'] } })
  if (replayed.status !== 200) return unexpected('events again', replayed)
  const bounds = (await replayed.json()).items
  check(bounds.length === 2 && bounds.every((event) => Object.keys(event.data).length === 0), 'erased: ids only')
  const ahead = await client.v1.events.$get({ query: { after: '999999999999' } })
  if (ahead.status !== 400) return unexpected('events ahead of the feed', ahead)
  check((await ahead.json()).errors?.[0]?.pointer === '/after', 'a cursor ahead of the feed is refused at /after')
  steps.push('events')

  return steps
}

/**
 * The webhook routes (webhooks:manage): create (the secret is shown only there), list, get, a
 * merge patch, rotate the secret, the deliveries log, a manual retry, delete; and verifyWebhook,
 * which a receiver calls on each request.
 */
async function useWebhooks(client: UsersClient, tag: string): Promise<void> {
  const body: CreateWebhookBody = { url: `https://hooks.example.com/${tag}`, types: ['user.created'], description: tag }
  const made = await client.v1.webhooks.$post({ json: body })
  if (made.status !== 201) return unexpected('create a webhook', made)
  const endpoint: CreatedWebhook = await made.json()
  check(endpoint.secret.startsWith('whsec_') && endpoint.enabled, 'a new webhook is enabled and comes with its secret')
  const local = await client.v1.webhooks.$post({ json: { url: 'https://127.0.0.1/hook' } })
  if (local.status !== 400) return unexpected('create a webhook to a private address', local)
  check((await local.json()).errors?.[0]?.pointer === '/url', 'a private target is refused at /url')

  const listed = await client.v1.webhooks.$get()
  if (listed.status !== 200) return unexpected('list webhooks', listed)
  const list: WebhookList = await listed.json()
  check(
    list.items.some((item) => item.id === endpoint.id && !('secret' in item)),
    'the list shows it without its secret',
  )
  const read = await client.v1.webhooks[':id'].$get({ param: { id: endpoint.id } })
  if (read.status !== 200) return unexpected('get a webhook', read)
  check((await read.json()).types?.join() === 'user.created', 'get shows its types')

  const rotated = await client.v1.webhooks[':id']['rotate-secret'].$post({ param: { id: endpoint.id } })
  if (rotated.status !== 200) return unexpected('rotate the secret', rotated)
  const { secret, previousSecretExpiresAt } = await rotated.json()
  check(secret !== endpoint.secret && Date.parse(previousSecretExpiresAt) > Date.now(), 'the old secret signs on for a while')

  const log = await client.v1.webhooks[':id'].deliveries.$get({ param: { id: endpoint.id }, query: { status: 'failed' } })
  if (log.status !== 200) return unexpected('list deliveries', log)
  check((await log.json()).nextCursor === null, 'a new endpoint has one page of deliveries')
  const retry = await client.v1.webhooks[':id'].deliveries[':deliveryId'].retry.$post({
    param: { id: endpoint.id, deliveryId: 'dlv_01JD8Z3N5W7QK2XH9V4T6RBM0C' },
  })
  if (retry.status !== 404) return unexpected('retry a delivery that does not exist', retry)
  check((await retry.json()).code === 'delivery_not_found', 'an unknown delivery is delivery_not_found')

  const patched = await client.v1.webhooks[':id'].$patch({ param: { id: endpoint.id }, json: { types: null, enabled: false } })
  if (patched.status !== 200) return unexpected('patch a webhook', patched)
  const off = await patched.json()
  check(!off.enabled && off.types === undefined, 'the patch disabled it and removed its types')
  const removed = await client.v1.webhooks[':id'].$delete({ param: { id: endpoint.id } })
  if (removed.status !== 204) return unexpected('delete a webhook', removed)

  // A receiver refuses what the endpoint's secret did not sign, with a reason it can branch on.
  const headers = {
    'webhook-id': 'evt_x',
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'webhook-signature': 'v1,AAAA',
  }
  const refused = await verifyWebhook(secret, headers, '{}').then(
    () => 'accepted',
    (error: unknown) => (error instanceof WebhookVerificationError ? error.reason : 'other error'),
  )
  check(refused === 'bad_signature', 'verifyWebhook refuses a forged signature')
}
