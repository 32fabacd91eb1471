/**
 * A load client with bounded concurrency that keeps a ledger of what the service acknowledged,
 * and the check that the database still holds exactly that. These are correctness runs, not
 * benchmarks: fetch from Bun is plenty, and every answer is recorded.
 */
import type { Report } from './lib'

export type Op = 'create' | 'patch' | 'get' | 'byUsername' | 'byEmail' | 'list' | 'missing'

/** What the client received for one request; status 0 when no answer came (refused, reset, timed out). */
export type Outcome = {
  op: Op
  status: number
  expected: boolean
  startedAt: number
  endedAt: number
  problemJson: boolean
  retryAfter: string | null
  /** The answer's body when its status was not the expected one, or the client's error. */
  error?: string
}

const EXPECTED: Record<Op, number> = { create: 201, patch: 200, get: 200, byUsername: 200, byEmail: 200, list: 200, missing: 404 }

type UserEntry = {
  id: string
  username: string
  email: string
  /** displayName → version, for every 201/200 received (the create's name is version 1). */
  acked: Map<string, number>
  /** Every displayName sent in a PATCH, answered or not. */
  sent: Set<string>
}

/** What was sent and what was acknowledged, per user. */
export function createLedger(prefix: string) {
  let counter = 0
  return {
    prefix,
    /** username → email of every create sent, answered or not. */
    sentCreates: new Map<string, string>(),
    users: new Map<string, UserEntry>(),
    ids: [] as string[],
    next: () => ++counter,
  }
}
export type Ledger = ReturnType<typeof createLedger>

export type LoadOptions = {
  target: () => string
  ledger: Ledger
  concurrency: number
  mix: Partial<Record<Op, number>>
  /** Client-side timeout per request; far above any bound the service promises. */
  timeoutMs?: number
}

/** Runs workers until `stop` resolves; every answer lands in `outcomes`. */
export function startLoad(options: LoadOptions) {
  const outcomes: Outcome[] = []
  const ops = Object.entries(options.mix) as [Op, number][]
  const total = ops.reduce((sum, [, weight]) => sum + weight, 0)
  let running = true
  const pick = (): Op => {
    if (options.ledger.ids.length === 0) return 'create'
    let roll = Math.random() * total
    for (const [op, weight] of ops) {
      roll -= weight
      if (roll < 0) return op
    }
    return 'get'
  }
  const worker = async () => {
    while (running) {
      const outcome = await request(options, pick())
      outcomes.push(outcome)
      // No answer at all (the service is gone): do not spin while it is down.
      if (outcome.status === 0) await Bun.sleep(20)
    }
  }
  const workers = Array.from({ length: options.concurrency }, worker)
  return {
    outcomes,
    /** Stops issuing new requests at once; those in flight go on. */
    halt: () => {
      running = false
    },
    /** Stops issuing requests and waits for those in flight. */
    stop: async () => {
      running = false
      await Promise.all(workers)
    },
  }
}

async function request(options: LoadOptions, op: Op): Promise<Outcome> {
  const { ledger } = options
  const user = ledger.users.get(ledger.ids[Math.floor(Math.random() * ledger.ids.length)] ?? '')
  let path = ''
  let init: RequestInit = {}
  let onSuccess: (body: { id: string; version: number; displayName?: string }) => void = () => {}
  if (op === 'create' || !user) {
    op = 'create'
    const username = `${ledger.prefix}u${ledger.next()}`
    const email = `${username}@example.com`
    ledger.sentCreates.set(username, email)
    path = '/v1/users'
    init = { method: 'POST', headers: { 'content-type': 'application/json' } }
    init.body = JSON.stringify({ username, email, displayName: `${username}-c`, metadata: { seq: 0 } })
    onSuccess = (body) => {
      ledger.users.set(body.id, {
        id: body.id,
        username,
        email,
        acked: new Map([[`${username}-c`, body.version]]),
        sent: new Set(),
      })
      ledger.ids.push(body.id)
    }
  } else if (op === 'patch') {
    const seq = ledger.next()
    const name = `${user.username}-p${seq}`
    user.sent.add(name)
    path = `/v1/users/${user.id}`
    init = { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' } }
    init.body = JSON.stringify({ displayName: name, metadata: { seq } })
    onSuccess = (body) => void user.acked.set(body.displayName ?? '(none)', body.version)
  } else if (op === 'get') path = `/v1/users/${user.id}`
  else if (op === 'byUsername') path = `/v1/users/by-username/${user.username.toUpperCase()}`
  else if (op === 'byEmail') path = `/v1/users/by-email/${encodeURIComponent(user.email)}`
  else if (op === 'list') path = `/v1/users?limit=20&q=${ledger.prefix}&sort=username`
  else path = `/v1/users/${Array.from({ length: 24 }, () => Math.floor(Math.random() * 16).toString(16)).join('')}`

  const startedAt = performance.now()
  try {
    const res = await fetch(`${options.target()}${path}`, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) })
    const text = await res.text()
    const outcome: Outcome = {
      op,
      status: res.status,
      expected: res.status === EXPECTED[op],
      startedAt,
      endedAt: performance.now(),
      problemJson: res.headers.get('content-type')?.startsWith('application/problem+json') ?? false,
      retryAfter: res.headers.get('retry-after'),
      ...(res.status === EXPECTED[op] ? {} : { error: text.slice(0, 500) }),
    }
    if (outcome.expected && (op === 'create' || op === 'patch')) onSuccess(JSON.parse(text))
    return outcome
  } catch (error) {
    const endedAt = performance.now()
    return { op, status: 0, expected: false, startedAt, endedAt, problemJson: false, retryAfter: null, error: String(error) }
  }
}

/** Counts outcomes by `op status` for progress lines, e.g. `get 200: 120, create 503: 4`. */
export function tally(outcomes: Outcome[]): string {
  const counts = new Map<string, number>()
  for (const o of outcomes) {
    const key = `${o.op} ${o.status || 'none'}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts.entries()]
    .sort()
    .map(([key, count]) => `${key}: ${count}`)
    .join(', ')
}

/**
 * Reads everything back through the API and checks it against the ledger: every acknowledged
 * create exists; every user's version is at least the highest acknowledged one and at most one
 * more than the patches sent, with the displayName of that acknowledgement when the versions are
 * equal (else one that was sent but never answered: it was in flight); and every stored user was
 * at least sent by this client (no phantoms).
 */
export async function verifyLedger(
  url: string,
  ledger: Ledger,
  report: Report,
  label: string,
): Promise<{ stored: number; landedUnanswered: number }> {
  const lost: string[] = []
  const inconsistent: string[] = []
  for (const user of ledger.users.values()) {
    const res = await fetch(`${url}/v1/users/${user.id}`)
    if (res.status !== 200) {
      lost.push(`${user.username} (${res.status})`)
      continue
    }
    const stored = (await res.json()) as { username: string; version: number; displayName?: string }
    const [topName, topVersion] = [...user.acked.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))
    const name = stored.displayName ?? '(none)'
    const problem =
      stored.username !== user.username
        ? `username ${stored.username}`
        : stored.version < topVersion
          ? `version ${stored.version} < acknowledged ${topVersion}`
          : stored.version > 1 + user.sent.size
            ? `version ${stored.version} > 1 + ${user.sent.size} patches sent`
            : stored.version === topVersion && name !== topName
              ? `version ${topVersion} holds "${name}", acknowledged "${topName}"`
              : stored.version > topVersion && (!user.sent.has(name) || user.acked.has(name))
                ? `version ${stored.version} holds "${name}", which was never an unanswered patch`
                : ''
    if (problem) inconsistent.push(`${user.username}: ${problem}`)
  }
  const stored = await listAll(url)
  const phantoms = stored.filter((username) => !ledger.sentCreates.has(username))
  const ackedNames = new Set([...ledger.users.values()].map((u) => u.username))
  const landedInFlight = stored.filter((username) => ledger.sentCreates.has(username) && !ackedNames.has(username))
  report.check(
    `${label}: every acknowledged create is present`,
    lost.length === 0,
    `${ledger.users.size} acknowledged, ${lost.length} missing${lost.length ? `: ${lost.slice(0, 5).join(', ')}` : ''}`,
  )
  const patches = [...ledger.users.values()].reduce((sum, u) => sum + u.acked.size - 1, 0)
  report.check(
    `${label}: every acknowledged patch is reflected (version and values)`,
    inconsistent.length === 0,
    `${patches} acknowledged patches${inconsistent.length ? `; ${inconsistent.slice(0, 5).join('; ')}` : ''}`,
  )
  report.check(
    `${label}: no phantom users`,
    phantoms.length === 0,
    `${stored.length} stored, ${ledger.sentCreates.size} creates sent, ${landedInFlight.length} unanswered creates landed${phantoms.length ? `; phantoms: ${phantoms.slice(0, 5).join(', ')}` : ''}`,
  )
  return { stored: stored.length, landedUnanswered: landedInFlight.length }
}

/** Every username in the collection (each script has a database of its own), walking the keyset pages. */
async function listAll(url: string): Promise<string[]> {
  const usernames: string[] = []
  let cursor = ''
  for (;;) {
    const res = await fetch(`${url}/v1/users?limit=100&sort=username${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    if (res.status !== 200) throw new Error(`listing users failed: ${res.status} ${await res.text()}`)
    const page = (await res.json()) as { items: { username: string }[]; nextCursor: string | null }
    usernames.push(...page.items.map((u) => u.username))
    if (!page.nextCursor) return usernames
    cursor = page.nextCursor
  }
}
