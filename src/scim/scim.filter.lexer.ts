/**
 * The SCIM filter tokenizer (RFC 7644 §3.4.2.2): one pass, every character in exactly one token or
 * whitespace. String literals are decoded as JSON strings; numbers follow JSON's grammar.
 */
export type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: 'subAttribute'; text: string; at: number }
  | { kind: '(' | ')' | '[' | ']' | 'end'; at: number }

const WHITESPACE = new Set([' ', '\t', '\n', '\r'])
const WORD = /[A-Za-z0-9_:.$-]/
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
export const NAME = '[A-Za-z][A-Za-z0-9_-]*'
const SUB_ATTRIBUTE = new RegExp(`^(?:${NAME}|\\$ref)$`)

/** Splits the text into tokens in one pass; every character belongs to exactly one token or is space. */
export function tokenize(text: string, fail: (message: string) => never): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text.charAt(i)
    if (WHITESPACE.has(c)) {
      i++
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ kind: c, at: i++ })
    } else if (c === '"') {
      const end = stringEnd(text, i)
      if (end < 0) fail(`has an unterminated string starting at position ${i}`)
      tokens.push({ kind: 'string', value: decodeString(text.slice(i, end + 1), i, fail), at: i })
      i = end + 1
    } else if (c === '.' && tokens.at(-1)?.kind === ']') {
      let end = i + 1
      while (end < text.length && /[A-Za-z0-9_$-]/.test(text.charAt(end))) end++
      const name = text.slice(i + 1, end)
      if (!SUB_ATTRIBUTE.test(name)) fail(`has an invalid sub-attribute after ']' at position ${i}`)
      tokens.push({ kind: 'subAttribute', text: name, at: i })
      i = end
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i
      const match = NUMBER.exec(text)
      const end = i + (match?.[0].length ?? 0)
      if (!match || (end < text.length && WORD.test(text.charAt(end)))) fail(`has an invalid number at position ${i}`)
      const value = Number(match[0])
      if (!Number.isFinite(value)) fail(`has an out-of-range number at position ${i}`)
      tokens.push({ kind: 'number', value, at: i })
      i = end
    } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
      let end = i + 1
      while (end < text.length && WORD.test(text.charAt(end))) end++
      tokens.push({ kind: 'word', text: text.slice(i, end), at: i })
      i = end
    } else {
      fail(`has an unexpected character at position ${i}`)
    }
  }
  tokens.push({ kind: 'end', at: text.length })
  return tokens
}

/** Index of the closing quote of the string opening at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  for (let j = start + 1; j < text.length; j++) {
    if (text[j] === '\\') j++
    else if (text[j] === '"') return j
  }
  return -1
}

/** A JSON string literal's value (RFC 7644: "String literals MUST be valid JSON strings"). */
function decodeString(literal: string, at: number, fail: (message: string) => never): string {
  let value: unknown
  try {
    value = JSON.parse(literal)
  } catch {
    fail(`has an invalid string at position ${at} (strings are JSON strings: escape '"' and '\\' with '\\')`)
  }
  if (typeof value !== 'string' || !value.isWellFormed()) fail(`has a string with a lone surrogate at position ${at}`)
  return value
}

export function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'end'
    case 'string':
      return 'string'
    case 'number':
      return 'number'
    case 'word':
    case 'subAttribute':
      return 'word'
    default:
      return `'${token.kind}'`
  }
}
