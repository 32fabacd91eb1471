/**
 * Misuse that must not compile. Each @ts-expect-error line fails the fixture's `tsc --noEmit` if
 * the error it expects disappears, so the client's types are held to the contract.
 */
import { createUsersClient } from 'users-service/client'

const client = createUsersClient({ baseUrl: 'http://users-service:3000' })

export async function misuse(id: string) {
  // A wrong field type in a create body.
  // @ts-expect-error username must be a string
  await client.v1.users.$post({ json: { username: 42, email: 'a@example.com' } })

  // An unknown field in a create body.
  // @ts-expect-error isAdmin is not a field of CreateUser
  await client.v1.users.$post({ json: { username: 'alice', email: 'a@example.com', isAdmin: true } })

  // A role outside the enum.
  // @ts-expect-error 'root' is not a role
  await client.v1.users.$post({ json: { username: 'alice', email: 'a@example.com', role: 'root' } })

  // An unknown route.
  // @ts-expect-error there is no /v1/accounts
  await client.v1.accounts.$get()

  // A missing path parameter.
  // @ts-expect-error param.id is required
  await client.v1.users[':id'].$get({ param: {} })

  // A query parameter of the wrong type (query strings are strings).
  // @ts-expect-error limit is a string in the query
  await client.v1.users.$get({ query: { limit: 20 } })

  const res = await client.v1.users[':id'].$get({ param: { id } })

  // Reading `id` from a body without narrowing on the status first.
  const body = await res.json()
  // @ts-expect-error the body may be a problem, which has no id
  console.log(body.id)

  if (res.status === 404) {
    const problem = await res.json()
    // @ts-expect-error a 404 body is a problem: it has no id
    console.log(problem.id)
  }

  // A status the route never returns.
  // @ts-expect-error GET /v1/users/{id} never answers 418
  if (res.status === 418) return
}
