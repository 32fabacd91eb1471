import { createUsersClient, type Problem, type User } from '@users-service/client'

/** Any answer this service does not handle: the problem says what went wrong, and which request. */
function fail(problem: Problem): never {
  throw new Error(`users-service: ${problem.code}: ${problem.detail} (request ${problem.requestId})`)
}

/** users-service as one service uses it. */
export function usersService(baseUrl: string, token: () => Promise<string>) {
  const client = createUsersClient({ baseUrl, token })

  return {
    /** Creates a user; null when the username or the email is taken. */
    async register(username: string, email: string): Promise<User | null> {
      const res = await client.v1.users.$post({ json: { username, email } })
      if (res.status === 201) return res.json() // a User
      if (res.status === 409) return null // username_taken or email_taken
      return fail(await res.json()) // every other status carries a Problem
    },

    /** Renames a user; when someone changed it since it was read, reads it again and retries. */
    async rename(id: string, displayName: string): Promise<User> {
      for (;;) {
        const current = await client.v1.users[':id'].$get({ param: { id } })
        if (current.status !== 200) throw new Error(`cannot read user ${id}: ${current.status}`)
        const etag = current.headers.get('etag') ?? '*'
        const res = await client.v1.users[':id'].$patch(
          { param: { id }, json: { displayName } },
          { headers: { 'If-Match': etag } },
        )
        if (res.status === 200) return res.json()
        if (res.status !== 412) return fail(await res.json())
      }
    },

    /** Every user with a role, page after page. */
    async *withRole(role: User['role']): AsyncGenerator<User> {
      let cursor: string | null = null
      do {
        const res = await client.v1.users.$get({ query: { role, limit: '100', ...(cursor ? { cursor } : {}) } })
        if (!res.ok) return fail(await res.json())
        const page = await res.json() // a UserList
        yield* page.items
        cursor = page.nextCursor
      } while (cursor)
    },

    /** Checks a login (username or email) and its password: the user, or null. */
    async verify(login: string, password: string): Promise<User | null> {
      const res = await client.v1.auth.verify.$post({ json: { login, password } })
      if (res.status === 200) return (await res.json()).user
      if (res.status === 401) return null // invalid_credentials
      return fail(await res.json())
    },
  }
}
