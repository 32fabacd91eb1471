/**
 * What never reaches a log line or stderr: secrets under known keys of a logged object, and the
 * values a database error carries (a duplicate-key message names the stored value; a bulk write's
 * error holds the documents it failed on). Used by the logger (src/logger.ts) and by the messages
 * printed before there is one (src/startup.ts, the importer).
 */

/**
 * Keys whose values are never written, at any depth of a logged object (compared without case).
 * A second line of defence: nothing logs request bodies, headers or users in the first place.
 */
const SECRET_KEYS = new Set([
  'password',
  'passwordhash',
  'token',
  'accesstoken',
  'authorization',
  'cookie',
  'set-cookie',
  'apikey',
  'api_key',
  'secret',
  'secrets',
  'metricstoken',
  'email',
  'responsebody',
])
/**
 * Their lengths: a key of another length is no secret key in any case, so most keys are never
 * lower-cased (an allocation per key, on every log line). Exact: a character whose lower case is
 * ASCII (the Kelvin sign's is `k`) lower-cases to one character, so the length still matches.
 */
const SECRET_KEY_LENGTHS = new Set([...SECRET_KEYS].map((key) => key.length))
const REDACTED = '[redacted]'
/** Deeper than any object the service logs: what lies deeper is not written at all (the walk fails closed). */
const MAX_DEPTH = 6
const TOO_DEEP = '[too deep]'

const isSecretKey = (key: string) => SECRET_KEY_LENGTHS.has(key.length) && SECRET_KEYS.has(key.toLowerCase())

/**
 * Returns `value` with the value of every secret key replaced, copying only the objects and arrays
 * on the way to one (the caller's object is never changed). This is pino's `formatters.log` in
 * place of its `redact` option: that one (@pinojs/redact 0.4) parses its paths and walks every
 * wildcard on each call, which was 40 % of the CPU of a GET by id in a profile (issue #6). It runs
 * on every log line, the request line included, so it allocates nothing unless it redacts.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value
  if (depth > MAX_DEPTH) return TOO_DEEP
  // An error under any key (not only pino's `err`) is written as serializeError says.
  if (value instanceof Error) return serializeError(value, depth)
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      const next = redactSecrets(item, depth + 1)
      if (next === item) continue
      copy ??= [...value]
      copy[i] = next
    }
    return copy ?? value
  }
  // Other class instances go to pino as they are; only plain data is walked.
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) return value
  const record = value as Record<string, unknown>
  let copy: Record<string, unknown> | undefined
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue
    const item = record[key]
    const next = isSecretKey(key) ? REDACTED : redactSecrets(item, depth + 1)
    if (next === item) continue
    copy ??= { ...record }
    copy[key] = next
  }
  return copy ?? value
}

/**
 * An error's text without the values a database put in it. MongoDB's duplicate-key message ends
 * with `dup key: { emailKey: "a@b.c" }` (also as the first write error of a bulk write's message);
 * FerretDB quotes the refused value (`invalid value: { ... } (nested arrays are not supported)`).
 * The driver's own errors (named Mongo...) lose every `{ ... }` and quoted string; any other
 * error's text loses a `dup key: {...}` (it may carry one, as the message of a wrapped error).
 */
function scrubErrorText(text: string, fromDatabase = false): string {
  const scrubbed = text.replace(/dup key: \{[^\n]*/g, 'dup key: { [redacted] }')
  return fromDatabase ? scrubbed.replace(/\{[^\n]*\}/g, '{ [redacted] }').replace(/"[^"\n]*"/g, '"[redacted]"') : scrubbed
}

/** An error's message as it may be shown (a log, stderr): scrubbed as scrubErrorText says. */
export function errorText(error: unknown): string {
  return error instanceof Error ? scrubErrorText(error.message, isDriverError(error)) : scrubErrorText(String(error))
}

const isDriverError = (error: Error) => error.name.startsWith('Mongo')

/**
 * An error as a log line shows it (pino's `err` serializer): its class, scrubbed message and stack,
 * and the driver's codes. Nothing else: pino's standard serializer copies every enumerable
 * property, and the driver's errors carry `keyValue`, `errorResponse` and, for a bulk write, every
 * failed document (`writeErrors[].op`).
 */
export function serializeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) {
    // Data (an error redactSecrets already wrote, a thrown object) is walked like any logged object.
    if (typeof error === 'object' && error !== null) return redactSecrets(error, depth)
    return { type: typeof error, message: scrubErrorText(String(error)) }
  }
  const { code, codeName, errorLabels } = error as { code?: unknown; codeName?: unknown; errorLabels?: unknown }
  const labels = Array.isArray(errorLabels) ? errorLabels.filter((label) => typeof label === 'string') : []
  const fromDatabase = isDriverError(error)
  return {
    type: error.name,
    message: scrubErrorText(error.message, fromDatabase),
    ...(error.stack ? { stack: scrubErrorText(error.stack, fromDatabase) } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(typeof codeName === 'string' ? { codeName } : {}),
    ...(labels.length > 0 ? { errorLabels: labels } : {}),
    // The cause through the same walk, one level deeper (so a chain ends at MAX_DEPTH too).
    ...(error.cause === undefined
      ? {}
      : {
          cause:
            typeof error.cause === 'string' ? scrubErrorText(error.cause, fromDatabase) : redactSecrets(error.cause, depth + 1),
        }),
  }
}
