/**
 * The change events' side of the reliability runs (scripts/reliability/events.ts): a write load
 * that keeps a ledger of every acknowledged write with the version the service answered, the
 * whole feed read back through GET /v1/events, and the checks that hold them against each other.
 */
import { MongoClient } from 'mongodb'
import type { Report } from './lib'

/** Per user: the versions the service acknowledged (201 → 1, 200 to a PATCH → its version). */
export type EventLedger = {
  prefix: string
  users: Map<string, { id: string; username: string; acked: Set<number> }>
  /** Creates sent and answered 409 (a resend of one that landed, or not): possibly applied. */
  createsInDoubt: number
  counter: number
  writesAcked: number
  unanswered: number
}

export const createEventLedger = (prefix: string): EventLedger => ({
  prefix,
  users: new Map(),
  createsInDoubt: 0,
  counter: 0,
  writesAcked: 0,
  unanswered: 0,
})

export type FeedEvent = {
  id: string
  type: string
  sequence: number
  userId: string
  userVersion: number
  data: { user?: { displayName?: string; version: number }; changed?: string[] }
}

/**
 * Creates and PATCHes (displayName alone: the one-write path; with metadata: read then write),
 * `concurrency` at a time against `targets()` in turn, until `halt`. Each request on a connection
 * of its own (keepalive off): Bun's fetch may otherwise send a request again on a fresh connection
 * when a kept-alive one dies under it (docs: STACK.md), and a resent write would be miscounted.
 */
export function startWriteLoad(ledger: EventLedger, targets: () => string[], concurrency: number) {
  let running = true
  let turn = 0
  const one = async () => {
    const urls = targets()
    const url = urls[turn++ % urls.length] as string
    const ids = [...ledger.users.keys()]
    const n = ++ledger.counter
    const target =
      ids.length > 0 && Math.random() < 0.7 ? ledger.users.get(ids[Math.floor(Math.random() * ids.length)] as string) : undefined
    const init: RequestInit = { keepalive: false, signal: AbortSignal.timeout(30_000) }
    try {
      if (!target) {
        const username = `${ledger.prefix}u${n}`
        const res = await fetch(`${url}/v1/users`, {
          ...init,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, email: `${username}@example.com`, displayName: `${username}-c` }),
        })
        if (res.status === 201) {
          const body = (await res.json()) as { id: string; version: number }
          ledger.users.set(body.id, { id: body.id, username, acked: new Set([body.version]) })
          ledger.writesAcked++
        } else {
          // Every body read to its end: one left unread fails later, unhandled, when its socket closes.
          await res.arrayBuffer()
          if (res.status === 409) ledger.createsInDoubt++
        }
        return
      }
      const body =
        n % 3 === 0
          ? { displayName: `${target.username}-p${n}`, metadata: { seq: n } }
          : { displayName: `${target.username}-p${n}` }
      const res = await fetch(`${url}/v1/users/${target.id}`, {
        ...init,
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify(body),
      })
      if (res.status === 200) {
        target.acked.add(((await res.json()) as { version: number }).version)
        ledger.writesAcked++
      } else await res.arrayBuffer()
    } catch {
      ledger.unanswered++
      await Bun.sleep(20)
    }
  }
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) await one()
  })
  return {
    halt: () => {
      running = false
    },
    stop: async () => {
      running = false
      await Promise.all(workers)
    },
  }
}

/** The relay's state document (events_state), as the relay left it; null before the first relay. */
export function relayState(client: MongoClient, db: string) {
  return client
    .db(db)
    .collection('events_state')
    .findOne({ _id: 'relay' as never })
}

/** Waits until no user has a pending event and everything recorded is visible; false after `timeoutMs`. */
export async function waitForRelay(uri: string, db: string, timeoutMs: number): Promise<boolean> {
  const client = new MongoClient(uri)
  try {
    const started = performance.now()
    while (performance.now() - started < timeoutMs) {
      const pending = await client
        .db(db)
        .collection('users')
        .countDocuments({ 'pendingEvents.0': { $exists: true } })
      const state = await relayState(client, db)
      if (pending === 0 && state && state.batch === null && state.visibleThrough === state.lastSequence) return true
      await Bun.sleep(250)
    }
    return false
  } finally {
    await client.close()
  }
}

/**
 * The whole feed through GET /v1/events, following nextCursor from the start; with `through`,
 * up to that sequence (a feed that grows while it is read, as fast as pages come, never ends).
 */
export async function readFeed(url: string, through = Number.POSITIVE_INFINITY): Promise<FeedEvent[]> {
  const events: FeedEvent[] = []
  let cursor: string | undefined
  for (;;) {
    const res = await fetch(`${url}/v1/events?limit=500${cursor ? `&after=${cursor}` : ''}`)
    if (res.status !== 200) throw new Error(`GET /v1/events: ${res.status} ${await res.text()}`)
    const page = (await res.json()) as { items: FeedEvent[]; nextCursor: string }
    events.push(...page.items)
    const last = page.items.at(-1)?.sequence ?? 0
    if (page.items.length === 0 || page.nextCursor === cursor || last >= through) return events
    cursor = page.nextCursor
  }
}

/**
 * The feed against the ledger and the stored users: sequences exactly 1..n (no gap, no
 * duplicate), every acknowledged write's event present once with its version, and per user
 * exactly the versions 1..its stored version (no event for a write that was not applied, none
 * missing for one that was, acknowledged or not). Returns the figures.
 */
export async function checkFeed(url: string, ledger: EventLedger, report: Report, label: string) {
  const events = await readFeed(url)
  const sequences = events.map((event) => event.sequence)
  const gaps = sequences.filter((sequence, index) => sequence !== index + 1).length
  const duplicates = events.length - new Set(events.map((event) => event.id)).size
  const increasing = sequences.every((sequence, index) => index === 0 || sequence > (sequences[index - 1] as number))
  report.check(
    `${label}: sequences strictly increasing, exactly 1..${events.length}`,
    increasing && gaps === 0,
    `${gaps} out of place`,
  )
  report.check(`${label}: no event twice`, duplicates === 0, `${duplicates} duplicates`)
  const byUser = new Map<string, FeedEvent[]>()
  for (const event of events) byUser.set(event.userId, [...(byUser.get(event.userId) ?? []), event])
  const missing: string[] = []
  const wrong: string[] = []
  let appliedUnacknowledged = 0
  for (const user of ledger.users.values()) {
    const res = await fetch(`${url}/v1/users/${user.id}`)
    const stored = (await res.json()) as { version: number; displayName?: string }
    const versions = (byUser.get(user.id) ?? []).map((event) => event.userVersion)
    for (const version of user.acked) if (!versions.includes(version)) missing.push(`${user.username} v${version}`)
    const exact = versions.length === stored.version && versions.every((version, index) => version === index + 1)
    if (!exact) wrong.push(`${user.username}: versions [${versions.join(',')}], stored ${stored.version}`)
    const last = byUser.get(user.id)?.at(-1)
    if (last && last.data.user?.displayName !== stored.displayName) wrong.push(`${user.username}: last event shows another name`)
    appliedUnacknowledged += Math.max(0, stored.version - user.acked.size)
  }
  // Users the feed knows and the ledger does not: creates that landed while their answer was lost.
  let landedCreates = 0
  for (const [userId, list] of byUser) {
    if (ledger.users.has(userId)) continue
    landedCreates++
    const res = await fetch(`${url}/v1/users/${userId}`)
    const stored = res.status === 200 ? ((await res.json()) as { version: number }) : undefined
    const versions = list.map((event) => event.userVersion)
    if (!stored || versions.length !== stored.version || versions.some((version, index) => version !== index + 1)) {
      wrong.push(`unacknowledged ${userId}: versions [${versions.join(',')}], stored ${stored?.version ?? res.status}`)
    }
  }
  report.check(
    `${label}: every acknowledged write has its event, with its version`,
    missing.length === 0,
    missing.slice(0, 5).join('; '),
  )
  report.check(
    `${label}: per user exactly versions 1..stored (no event for a write not applied)`,
    wrong.length === 0,
    wrong.slice(0, 5).join('; '),
  )
  return { events: events.length, gaps, duplicates, missing: missing.length, appliedUnacknowledged, landedCreates }
}
