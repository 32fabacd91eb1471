import type { z } from '@hono/zod-openapi'

/** Limits on `metadata` (API.md): what any MongoDB-compatible store keeps exactly. */
export const METADATA_MAX_BYTES = 16 * 1024
const METADATA_MAX_DEPTH = 5
const METADATA_KEY = /^[A-Za-z0-9_-]{1,64}$/
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

export const WELL_FORMED_MESSAGE = 'must be well-formed Unicode (no lone surrogates)'

/** Strings with lone surrogates cannot be stored as sent: BSON is UTF-8, so they become U+FFFD. */
export function isWellFormed(value: string): boolean {
  return value.isWellFormed()
}

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Checks a metadata object against every rule and reports each violation at its path. Used as a
 * zod `superRefine`, so problems carry JSON pointers such as `/metadata/prefs/$where`.
 * Depth counts the metadata object itself as level 1.
 */
export function checkMetadata(value: Record<string, unknown>, ctx: z.core.$RefinementCtx): void {
  const walk = (node: unknown, path: (string | number)[], depth: number, insideArray: boolean): void => {
    if (Array.isArray(node)) {
      if (insideArray) {
        ctx.addIssue({ code: 'custom', path, message: 'an array directly inside an array is not allowed' })
        return
      }
      if (depth > METADATA_MAX_DEPTH) {
        tooDeep(path)
        return
      }
      for (const [index, item] of node.entries()) walk(item, [...path, index], depth + 1, true)
      return
    }
    if (isPlainObject(node)) {
      if (depth > METADATA_MAX_DEPTH) {
        tooDeep(path)
        return
      }
      for (const key of Object.keys(node)) {
        if (!METADATA_KEY.test(key) || FORBIDDEN_KEYS.has(key)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, key],
            message: 'keys must be 1-64 characters of [A-Za-z0-9_-] and not __proto__, constructor or prototype',
          })
          continue
        }
        walk(node[key], [...path, key], depth + 1, false)
      }
      return
    }
    if (typeof node === 'number' && !Number.isFinite(node)) {
      ctx.addIssue({ code: 'custom', path, message: 'numbers must be finite' })
    }
    if (typeof node === 'string' && !isWellFormed(node)) {
      ctx.addIssue({ code: 'custom', path, message: WELL_FORMED_MESSAGE })
    }
  }
  const tooDeep = (path: (string | number)[]) =>
    ctx.addIssue({ code: 'custom', path, message: `metadata may be at most ${METADATA_MAX_DEPTH} levels deep` })

  walk(value, [], 1, false)
  if (metadataSize(value) > METADATA_MAX_BYTES) {
    ctx.addIssue({ code: 'custom', path: [], message: `metadata may be at most ${METADATA_MAX_BYTES} bytes as JSON` })
  }
}

/**
 * The rules checkMetadata enforces, as JSON Schema for the OpenAPI document (all but the size
 * limit, which no schema can state): key syntax, depth (unrolled level by level) and no array
 * directly inside an array. Clients and Schemathesis then know exactly which objects get 400.
 */
export function metadataJsonSchema() {
  const keys = { pattern: METADATA_KEY.source, not: { enum: [...FORBIDDEN_KEYS] } }
  const scalar = { type: ['string', 'number', 'boolean', 'null'] }
  const object = (depth: number) => ({ type: 'object', propertyNames: keys, additionalProperties: value(depth + 1, false) })
  // A value at `depth` (the metadata object itself is depth 1).
  const value = (depth: number, insideArray: boolean): object =>
    depth > METADATA_MAX_DEPTH
      ? scalar
      : {
          anyOf: [scalar, object(depth), ...(insideArray ? [] : [{ type: 'array', items: value(depth + 1, true) }])],
        }
  return { ...object(1), type: 'object' as const }
}

/** Size of the serialized object in UTF-8 bytes. */
export function metadataSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8')
}

/**
 * RFC 7396 JSON merge patch: nested objects merge, `null` removes a key, anything else replaces.
 * Returns a new object; the inputs are not modified. Keys were validated before (no `__proto__`).
 */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isPlainObject(patch)) return patch
  const result: JsonObject = isPlainObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = mergePatch(result[key], value)
  }
  return result
}

/** Deep equality for JSON values (key order ignored, as MongoDB's merge keeps it anyway). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]))
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]))
  }
  return false
}
