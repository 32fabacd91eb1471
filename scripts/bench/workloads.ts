/**
 * The workloads: what each wrk run sends. Every contender gets the same requests (with its own
 * deep cursor and the current versions for PATCH); only the answers differ.
 */
import { encodeCursor } from '../../src/users/users.pagination'
import type { ContenderId } from './contenders'
import { currentVersions } from './seed'
import { rotateLua, WRK_THREADS } from './wrk'

export const WORKLOAD_IDS = ['get-by-id', 'get-by-username', 'list-first', 'list-deep', 'patch', 'create'] as const
export type WorkloadId = (typeof WORKLOAD_IDS)[number]

export type WorkloadContext = {
  /** Seeded users in creation order (oldest first): ids, usernames, createdAt (ISO). */
  ids: string[]
  usernames: string[]
  createdAt?: string[]
  /** Sent with every request (Authorization; contenders without auth ignore it). */
  headers: Record<string, string>
  db?: { uri: string; name: string }
}

export type Workload = {
  id: WorkloadId
  title: string
  connections: number
  /** Runs last at least this long: a list page costs FerretDB about a second of CPU. */
  minSeconds?: number
  /** Once per contender before its warm-up; what it returns is handed to `lua` (the deep cursor). */
  prepare?(contender: ContenderId, url: string, ctx: WorkloadContext): Promise<string>
  /** The wrk script for one run; called before every run, so it can read the current state. */
  lua(ctx: WorkloadContext, prepared: string | undefined): Promise<string>
}

/** GETs rotate over a hot set, as a cache-friendly production mix would. */
const HOT = 200
/** PATCHes rotate over this many users, so no user has two PATCHes in flight. */
const PATCHED = 2000
/** The deep page starts after this many users (of 10,000), reached by walking pages of 100. */
const DEEP = 9000
const PAGE = 20

export const WORKLOADS: Record<WorkloadId, Workload> = {
  'get-by-id': {
    id: 'get-by-id',
    title: `GET /v1/users/{id}, ${HOT} hot users`,
    connections: 16,
    lua: async (ctx) => rotateLua({ paths: ctx.ids.slice(0, HOT).map((id) => `/v1/users/${id}`), headers: ctx.headers }),
  },
  'get-by-username': {
    id: 'get-by-username',
    title: `GET /v1/users/by-username/{username}, ${HOT} hot users`,
    connections: 16,
    lua: async (ctx) =>
      rotateLua({ paths: ctx.usernames.slice(0, HOT).map((u) => `/v1/users/by-username/${u}`), headers: ctx.headers }),
  },
  'list-first': {
    id: 'list-first',
    title: `GET /v1/users?limit=${PAGE} (first page)`,
    // FerretDB sorts the whole collection for every page: more connections only queue behind it.
    connections: 1,
    minSeconds: 10,
    lua: async (ctx) => rotateLua({ paths: [`/v1/users?limit=${PAGE}`], headers: ctx.headers }),
  },
  'list-deep': {
    id: 'list-deep',
    title: `GET /v1/users?limit=${PAGE}&cursor=… (after ${DEEP.toLocaleString('en-US')} users)`,
    connections: 1,
    minSeconds: 10,
    prepare: deepCursor,
    lua: async (ctx, cursor) =>
      rotateLua({ paths: [`/v1/users?limit=${PAGE}&cursor=${encodeURIComponent(cursor ?? '')}`], headers: ctx.headers }),
  },
  patch: {
    id: 'patch',
    title: `PATCH /v1/users/{id} with If-Match, ${PATCHED} users`,
    // Writes are serialized by the embedded database's write lock, and each scans the collection.
    connections: 8,
    minSeconds: 10,
    async lua(ctx) {
      if (!ctx.db) throw new Error('the PATCH workload needs the database to read current versions')
      const ids = ctx.ids.slice(HOT, HOT + PATCHED)
      const versions = await currentVersions(ctx.db.uri, ctx.db.name, ids)
      return patchLua(
        ids.map((id) => [id, versions.get(id) ?? 1]),
        ctx.headers,
      )
    },
  },
  create: {
    id: 'create',
    title: 'POST /v1/users (unique username, no password)',
    connections: 16,
    lua: async (ctx) => createLua(ctx.headers),
  },
}

/**
 * The cursor after DEEP users, in the contender's own format. The floor's and the service's
 * formats are defined in this repository, and the peers issue the service's (peers/README.md), so
 * it is computed; if the deep page it gives does not start with the right user (a peer changed its
 * format), the contender's pages of 100 are walked instead (about a second each on FerretDB).
 */
async function deepCursor(contender: ContenderId, url: string, ctx: WorkloadContext): Promise<string> {
  // Pages run newest first: the last user of the first DEEP is the (USERS - DEEP)th oldest.
  const lastIndex = ctx.ids.length - DEEP
  const last = { id: ctx.ids[lastIndex] ?? '', createdAt: ctx.createdAt?.[lastIndex] ?? '' }
  const computed =
    contender === 'floor'
      ? `${Date.parse(last.createdAt)}.${last.id}`
      : encodeCursor({ sort: '-createdAt' }, { key: last.createdAt, id: last.id })
  const expected = ctx.ids[lastIndex - 1]
  const startsRight = async (cursor: string) => {
    const deep = await getPage(url, ctx, PAGE, cursor).catch(() => ({ items: [] }))
    const first = deep.items[0] as { id?: string; _id?: string } | undefined
    return deep.items.length === PAGE && (first?.id ?? first?._id) === expected
  }
  if (await startsRight(computed)) return computed
  process.stderr.write(`  ${contender} does not take the computed cursor: walking its pages\n`)
  let cursor = ''
  for (let seen = 0; seen < DEEP; seen += 100) {
    const page = await getPage(url, ctx, 100, cursor)
    if (!page.nextCursor) throw new Error(`${url}: the list ended after ${seen + page.items.length} users, before ${DEEP}`)
    cursor = page.nextCursor
    if ((seen / 100) % 10 === 9) process.stderr.write(`  walked ${(seen + 100).toLocaleString('en-US')} users\n`)
  }
  if (!(await startsRight(cursor))) throw new Error(`${url}: the page after ${DEEP} users does not start with user ${expected}`)
  return cursor
}

async function getPage(url: string, ctx: WorkloadContext, limit: number, cursor: string) {
  const query = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
  const response = await fetch(`${url}/v1/users?${query}`, { headers: ctx.headers })
  if (!response.ok) throw new Error(`${url}/v1/users?${query}: ${response.status} ${await response.text()}`)
  return (await response.json()) as { items: unknown[]; nextCursor?: string | null }
}

const luaString = (text: string) => JSON.stringify(text)
const luaHeaders = (headers: Record<string, string>) =>
  `{ ${Object.entries({ ...headers, 'Content-Type': 'application/json' })
    .map(([k, v]) => `[${luaString(k)}] = ${luaString(v)}`)
    .join(', ')} }`

/**
 * PATCH with If-Match. Each wrk thread takes its share of the users and remembers each one's
 * version; a response names its user (`"id"` in the body, `"_id"` from the floor) and carries the
 * new version in ETag, so the next PATCH of that user sends the right If-Match. A user whose
 * previous PATCH is still in flight is skipped. A 412 means the bookkeeping or the server is wrong:
 * it is counted as an error.
 */
export function patchLua(users: [string, number][], headers: Record<string, string>): string {
  const run = runTag()
  return `
local all = { ${users.map(([id, v]) => `{ ${luaString(id)}, ${v} }`).join(', ')} }
local base_headers = ${luaHeaders(headers)}
local mine, version, pending = {}, {}, {}
local next_user, n = 0, 0
init = function(args)
  for i, entry in ipairs(all) do
    if (i - 1) % ${WRK_THREADS} == (tid or 0) then
      table.insert(mine, entry[1])
      version[entry[1]] = entry[2]
    end
  end
end
request = function()
  local id
  for _ = 1, #mine do
    next_user = next_user % #mine + 1
    id = mine[next_user]
    if not pending[id] then break end
  end
  pending[id] = true
  n = n + 1
  local h = {}
  for k, v in pairs(base_headers) do h[k] = v end
  h["If-Match"] = '"' .. version[id] .. '"'
  -- A new name every time, in every run: a PATCH that changes nothing is answered without a write.
  return wrk.format("PATCH", "/v1/users/" .. id, h, '{"displayName":"Patched ${run} ' .. (tid or 0) .. '-' .. n .. '"}')
end
on_response = function(status, headers, body)
  local id = body and string.match(body, '"_?id":"(%x+)"')
  if not id then return end
  pending[id] = nil
  local etag = headers["ETag"] or headers["etag"] or headers["Etag"]
  local v = etag and string.match(etag, "(%d+)")
  if v then version[id] = tonumber(v) end
end
`
}

/** POST with a username unique to this run, thread and request: "<run><thread>n<counter>". */
function createLua(headers: Record<string, string>): string {
  const run = runTag()
  return `
local base_headers = ${luaHeaders(headers)}
local n = 0
request = function()
  n = n + 1
  local name = "${run}t" .. (tid or 0) .. "n" .. n
  return wrk.format("POST", "/v1/users", base_headers,
    '{"username":"' .. name .. '","email":"' .. name .. '@example.com","displayName":"Bench Created"}')
end
`
}

/** Unique per wrk run (so per run, not per process: names must not repeat across runs). */
let runs = 0
const runTag = () => `b${Date.now().toString(36)}${(runs++).toString(36)}`
