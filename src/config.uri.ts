import { z } from '@hono/zod-openapi'

/**
 * MONGODB_URI's rules, for config.ts: which of a connection string's options the service sets
 * itself (timeouts, consistency) and so refuses there. Nothing here reads the environment.
 */

/**
 * The driver's timeout options a connection string may carry, lower-cased (the driver compares
 * them without case). The service sets them all from DB_TIMEOUT_MS and derives from it what
 * depends on them: a call's deadline (2 × DB_TIMEOUT_MS + 1 s) and the heartbeat watchdog's bound.
 */
const URI_TIMEOUTS = ['connecttimeoutms', 'sockettimeoutms', 'serverselectiontimeoutms', 'waitqueuetimeoutms', 'timeoutms']

/**
 * The options of a connection string's query, as written (`pair` is `name=value`). Read as text: a
 * URI with several hosts is no URL (`new URL` refuses it).
 */
function uriOptions(uri: string): { pair: string; name: string; value: string }[] {
  const query = uri.includes('?') ? uri.slice(uri.indexOf('?') + 1) : ''
  return query.split('&').map((pair) => {
    const [name = '', value = ''] = pair.split('=')
    return { pair, name, value }
  })
}

/** The option names of a connection string's query, as written. */
export function uriOptionNames(uri: string): string[] {
  return uriOptions(uri).map(({ name }) => name)
}

/** The timeout options of a connection string's query, as written. */
export function uriTimeouts(uri: string): string[] {
  return uriOptionNames(uri).filter((name) => URI_TIMEOUTS.includes(name.toLowerCase()))
}

function uriTimeoutsRefusal(uri: string): string {
  return `${uriTimeouts(uri).join(', ')}: set the database's timeouts with DB_TIMEOUT_MS, not in the URI (the service derives each call's deadline and its heartbeat watchdog from it; the URI's would break them)`
}

/**
 * Consistency options a connection string may carry (lower-cased) and the only values the service
 * is correct with (docs/deployment.md, "What MongoDB must be"); src/db/mongo.ts sets them itself.
 * `j` is the driver's deprecated name for `journal`, which it still reads. `maxStalenessSeconds`
 * has no value the service can take: it reads from the primary, and the driver refuses to combine
 * the two (the start would fail on it).
 */
const URI_CONSISTENCY: Record<string, readonly string[]> = {
  w: ['majority'],
  journal: ['true'],
  j: ['true'],
  maxstalenessseconds: [],
  readpreference: ['primary'],
  readconcernlevel: ['local', 'majority'],
}

/** The options of a connection string's query that ask for other consistency than the service's, as written. */
export function uriWeakenings(uri: string): string[] {
  return uriOptions(uri).flatMap(({ pair, name, value }) =>
    URI_CONSISTENCY[name.toLowerCase()]?.includes(value) === false ? [pair] : [],
  )
}

/** MONGODB_URI: a connection string, without timeout options (DB_TIMEOUT_MS sets those) or weaker consistency. */
export const MongoUriSchema = z
  .string()
  .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// connection string')
  .refine((uri) => uriTimeouts(uri).length === 0, { error: (issue) => uriTimeoutsRefusal(String(issue.input)) })
  .refine((uri) => uriWeakenings(uri).length === 0, {
    error: (issue) =>
      `${uriWeakenings(String(issue.input)).join(', ')}: leave these out: the service writes with w=majority, journaled, and reads from the primary, whatever the URI says (a write acknowledged by less than a majority can be rolled back after its event was published; a read from a secondary can make the events feed skip events)`,
  })
