/**
 * Misuse that must not compile, one case per line, each under the `@ts-expect-error` that marks
 * it. tests/client.test.ts compiles this file as it is (every marker must be used: each case is an
 * error) and without the markers (the errors must be on exactly the marked lines, no others).
 */
import { createUsersClient, type ProblemCode, type User, verifyWebhook } from '@users-service/client'

const client = createUsersClient({ baseUrl: 'http://users-service:3000' })

export async function misuse(id: string) {
  // @ts-expect-error a wrong field type: username is a string
  await client.v1.users.$post({ json: { username: 42, email: 'a@example.com' } })
  // @ts-expect-error an unknown field: isAdmin is not part of CreateUserBody
  await client.v1.users.$post({ json: { username: 'alice', email: 'a@example.com', isAdmin: true } })
  // @ts-expect-error a missing required field: email
  await client.v1.users.$post({ json: { username: 'alice' } })
  // @ts-expect-error an enum outside its values: 'root' is not a role
  await client.v1.users.$post({ json: { username: 'alice', email: 'a@example.com', role: 'root' } })
  // @ts-expect-error an enum outside its values in a patch: 'banned' is not a status
  await client.v1.users[':id'].$patch({ param: { id }, json: { status: 'banned' } })
  // @ts-expect-error an unknown route: there is no /v1/accounts
  await client.v1.accounts.$get()
  // @ts-expect-error a method the route does not have: no PUT on /v1/users/{id}
  await client.v1.users[':id'].$put({ param: { id } })
  // @ts-expect-error a missing path parameter: param.id is required
  await client.v1.users[':id'].$get({ param: {} })
  // @ts-expect-error a wrong query type: limit is a string on the wire
  await client.v1.users.$get({ query: { limit: 20 } })
  // @ts-expect-error a query value outside its enum: there is no sort by age
  await client.v1.users.$get({ query: { sort: 'age' } })
  // @ts-expect-error a wrong header: header values are strings
  await client.v1.users[':id'].$get({ param: { id } }, { headers: { 'If-None-Match': 3 } })
  // @ts-expect-error a missing body field of verify: password
  await client.v1.auth.verify.$post({ json: { login: 'alice' } })

  const patched = await client.v1.users[':id'].$patch({ param: { id }, json: { displayName: 'Al' } })
  const body = await patched.json()
  // @ts-expect-error a 200 field read from the un-narrowed union: a Problem has no username
  console.log(body.username)
  const res = await client.v1.users[':id'].$get({ param: { id } })
  if (res.status === 404) {
    // @ts-expect-error a 404 body read as a User: it is a Problem
    const user: User = await res.json()
    console.log(user)
  }
  // @ts-expect-error a status the route never returns: GET /v1/users/{id} has no 418
  if (res.status === 418) return
  if (res.ok) {
    // @ts-expect-error a success narrowed with res.ok is still not a Problem: it has no code
    console.log((await res.json()).code)
  }
  // @ts-expect-error a webhook endpoint without its url
  await client.v1.webhooks.$post({ json: { types: ['user.created'] } })
  // @ts-expect-error an event type that does not exist in a webhook's types
  await client.v1.webhooks.$post({ json: { url: 'https://hooks.example.com/', types: ['user.renamed'] } })
  const event = await verifyWebhook('whsec_secret', new Headers(), '{}')
  if (event.type === 'user.created') {
    // @ts-expect-error only a user.updated event says which fields changed
    console.log(event.data.changed)
  }
  // @ts-expect-error a problem code that does not exist
  const code: ProblemCode = 'teapot'
  return code
}
