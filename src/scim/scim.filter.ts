/**
 * SCIM filter and PATCH path parser (RFC 7644 §3.4.2.2 and §3.5.2, figure 1's ABNF): a small
 * recursive-descent grammar with bounded length, nesting and size, so no input can exhaust the
 * stack or the CPU. Operators, keywords and attribute names are case-insensitive; string literals
 * are JSON strings (escapes decoded as JSON does). Precedence: grouping, attribute operators,
 * then `not` over `and` over `or`.
 *
 * Why not a library: the npm candidates were tried (see docs/scim.md, "Filters"): scim2-parse-filter
 * keeps `\\`, `\n` and `\uXXXX` undecoded and overflows the stack at 20,000 nested parentheses;
 * scimmy expands filters into disjunctive normal form (`(a or b) and (c or d) and ...` grows as
 * 2^n: 18 groups took 6 s) and rewrites `not (a or b)` as `not a or not b`;
 * scim-query-filter-parser compiles to an in-memory predicate with no tree to translate.
 */
import { ScimError, type ScimType } from './scim.errors'
import { describe, NAME, type Token, tokenize } from './scim.filter.lexer'
import type { AttributePath } from './scim.schema'

export type { AttributePath } from './scim.schema'

export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'lt' | 'ge' | 'le'
export type FilterValue = string | number | boolean | null

/** A parsed filter. `and`/`or` are n-ary (a chain `a or b or c` is one node with three filters). */
export type FilterNode =
  | { op: CompareOperator; path: AttributePath; value: FilterValue }
  | { op: 'pr'; path: AttributePath }
  | { op: 'and' | 'or'; filters: FilterNode[] }
  | { op: 'not'; filter: FilterNode }
  /** `emails[type eq "work"]`: the inner filter's paths are sub-attributes of `path`. */
  | { op: 'valuePath'; path: AttributePath; filter: FilterNode }

/** A PATCH `path` (RFC 7644 §3.5.2: `attrPath / valuePath [subAttr]`). */
export type PatchPath = { path: AttributePath; filter?: FilterNode; subAttribute?: string }

export type FilterLimits = {
  /** Characters in the whole expression. */
  maxLength: number
  /** Nested groups: `(`, `not (` and `[`. */
  maxDepth: number
  /** Attribute expressions (`x eq y`, `x pr`). */
  maxTerms: number
}

const DEFAULT_FILTER_LIMITS: FilterLimits = { maxLength: 4096, maxDepth: 32, maxTerms: 100 }

const COMPARE_OPERATORS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le'])
const OPERATOR_LIST = 'eq, ne, co, sw, ew, gt, lt, ge, le, pr'

/** Parses a `filter` query parameter; throws ScimError `invalidFilter` with the position of the fault. */
export function parseFilter(text: string, limits: Partial<FilterLimits> = {}): FilterNode {
  const parser = new Parser(text, 'invalidFilter', { ...DEFAULT_FILTER_LIMITS, ...limits })
  const filter = parser.orExpression(false)
  parser.expectEnd()
  return filter
}

/** Parses a PATCH operation's `path`; throws ScimError `invalidPath`. */
export function parsePatchPath(text: string, limits: Partial<FilterLimits> = {}): PatchPath {
  const parser = new Parser(text, 'invalidPath', { ...DEFAULT_FILTER_LIMITS, ...limits })
  const path = parser.patchPath()
  parser.expectEnd()
  return path
}

/** `[URI ":"] ATTRNAME *1subAttr`; `$ref` is a sub-attribute name RFC 7643 §2.3.7 uses. */
const ATTRIBUTE_PATH = new RegExp(`^(?:([A-Za-z][A-Za-z0-9._:-]*):)?(${NAME})(?:\\.(${NAME}|\\$ref))?$`)

class Parser {
  private readonly tokens: Token[]
  private readonly end: Token
  private index = 0
  private depth = 0
  private terms = 0

  constructor(
    text: string,
    private readonly scimType: ScimType,
    private readonly limits: FilterLimits,
  ) {
    if (typeof text !== 'string' || text.trim() === '') this.fail('is empty')
    if (text.length > limits.maxLength) this.fail(`is longer than ${limits.maxLength} characters`)
    if (!text.isWellFormed()) this.fail('is not well-formed Unicode')
    this.tokens = tokenize(text, (message) => this.fail(message))
    this.end = { kind: 'end', at: text.length }
  }

  fail(message: string): never {
    throw new ScimError(this.scimType, `The ${this.scimType === 'invalidFilter' ? 'filter' : 'path'} ${message}.`)
  }

  private peek(): Token {
    // The last token is always 'end', and next() never moves past it.
    return this.tokens[this.index] ?? this.end
  }

  private next(): Token {
    const token = this.peek()
    if (token.kind !== 'end') this.index++
    return token
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.kind === 'word' && token.text.toLowerCase() === keyword
  }

  private expect(kind: ')' | ']'): void {
    const token = this.next()
    if (token.kind !== kind) this.fail(`expects '${kind}' at position ${token.at}`)
  }

  private enter(at: number): void {
    if (++this.depth > this.limits.maxDepth) this.fail(`nests deeper than ${this.limits.maxDepth} levels at position ${at}`)
  }

  expectEnd(): void {
    const token = this.peek()
    if (token.kind !== 'end') this.fail(`has an unexpected ${describe(token)} at position ${token.at}`)
  }

  /** `a or b or c`: a loop, not recursion, so long chains cost no stack. */
  orExpression(inValuePath: boolean): FilterNode {
    const filters = [this.andExpression(inValuePath)]
    while (this.isKeyword(this.peek(), 'or')) {
      this.next()
      filters.push(this.andExpression(inValuePath))
    }
    return single(filters) ?? { op: 'or', filters }
  }

  private andExpression(inValuePath: boolean): FilterNode {
    const filters = [this.unary(inValuePath)]
    while (this.isKeyword(this.peek(), 'and')) {
      this.next()
      filters.push(this.unary(inValuePath))
    }
    return single(filters) ?? { op: 'and', filters }
  }

  private unary(inValuePath: boolean): FilterNode {
    const token = this.peek()
    // `not` is the operator only before a group, as the ABNF writes it (`not (...)`); an attribute
    // could be named "not".
    if (this.isKeyword(token, 'not') && this.tokens[this.index + 1]?.kind === '(') {
      this.next()
      return { op: 'not', filter: this.group(inValuePath) }
    }
    if (token.kind === '(') return this.group(inValuePath)
    if (token.kind === 'word') return this.attributeExpression(inValuePath)
    this.fail(`expects an attribute, '(' or 'not (' at position ${token.at}, not ${describe(token)}`)
  }

  private group(inValuePath: boolean): FilterNode {
    const open = this.next()
    this.enter(open.at)
    const inner = this.orExpression(inValuePath)
    this.expect(')')
    this.depth--
    return inner
  }

  private attributeExpression(inValuePath: boolean): FilterNode {
    const word = this.next() as Extract<Token, { kind: 'word' }>
    const path = this.attributePath(word)
    if (this.peek().kind === '[') {
      if (inValuePath) this.fail(`nests a value filter inside another at position ${this.peek().at}`)
      const { filter, subAttribute } = this.valueFilter(path, word.at)
      if (subAttribute === undefined) return { op: 'valuePath', path, filter }
      // `emails[type eq "work"].value eq "x"` (the PATCH path form Entra also uses in filters) is
      // `emails[type eq "work" and value eq "x"]`: both conditions hold for the same value.
      const clause = this.operation({ attribute: subAttribute })
      return { op: 'valuePath', path, filter: { op: 'and', filters: [filter, clause] } }
    }
    return this.operation(path)
  }

  private operation(path: AttributePath): FilterNode {
    if (++this.terms > this.limits.maxTerms) this.fail(`has more than ${this.limits.maxTerms} attribute expressions`)
    const token = this.next()
    const operator = token.kind === 'word' ? token.text.toLowerCase() : ''
    if (operator === 'pr') return { op: 'pr', path }
    if (!COMPARE_OPERATORS.has(operator)) {
      this.fail(`expects an operator (${OPERATOR_LIST}) at position ${token.at}`)
    }
    return { op: operator as CompareOperator, path, value: this.value() }
  }

  private value(): FilterValue {
    const token = this.next()
    if (token.kind === 'string' || token.kind === 'number') return token.value
    if (token.kind === 'word') {
      const keyword = token.text.toLowerCase()
      if (keyword === 'true') return true
      if (keyword === 'false') return false
      if (keyword === 'null') return null
    }
    this.fail(`expects a value (a quoted string, a number, true, false or null) at position ${token.at}`)
  }

  private valueFilter(path: AttributePath, at: number): { filter: FilterNode; subAttribute?: string } {
    if (path.subAttribute !== undefined) this.fail(`applies '[' to a sub-attribute at position ${at}`)
    const open = this.next()
    this.enter(open.at)
    const filter = this.orExpression(true)
    this.expect(']')
    this.depth--
    const after = this.peek()
    if (after.kind !== 'subAttribute') return { filter }
    this.next()
    return { filter, subAttribute: after.text }
  }

  private attributePath(token: Extract<Token, { kind: 'word' }>): AttributePath {
    const match = ATTRIBUTE_PATH.exec(token.text)
    if (!match) this.fail(`has an invalid attribute path at position ${token.at}`)
    const [, schema, attribute = '', subAttribute] = match
    return { ...(schema ? { schema } : {}), attribute, ...(subAttribute ? { subAttribute } : {}) }
  }

  patchPath(): PatchPath {
    const token = this.next()
    if (token.kind !== 'word') this.fail(`expects an attribute at position ${token.at}`)
    const path = this.attributePath(token)
    if (this.peek().kind !== '[') return { path }
    const { filter, subAttribute } = this.valueFilter(path, token.at)
    return { path, filter, ...(subAttribute !== undefined ? { subAttribute } : {}) }
  }
}

/** The only element of a one-element list. */
function single<T>(items: T[]): T | undefined {
  return items.length === 1 ? items[0] : undefined
}
