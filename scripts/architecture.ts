/**
 * The source's shape, read from the source: folder-level import arrows, the layers they must
 * follow (docs/architecture.md), where `mongodb` and the environment may be used, and file and
 * function sizes. `bun run arch` prints the arrows and any violation (exit 1 if any);
 * tests/architecture.test.ts runs the same checks in CI. A heuristic reader, not a parser: it
 * skips comments, strings, template literals and regular expressions, which is all this code needs.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, posix, relative } from 'node:path'

export const SRC = join(import.meta.dir, '..', 'src')

/**
 * The layers, lowest first. A module (a folder under src/, or a file directly in it) may import
 * only from a lower layer: any other arrow is a back-edge. A new folder must be placed here (and
 * in docs/architecture.md) before it can import anything.
 */
export const LAYERS: string[][] = [
  ['errors', 'scopes', 'deadline', 'openapi', 'version', 'retry-schedule', 'listeners', 'redaction', 'config.env', 'config.uri'],
  ['config', 'db/', 'startup', 'cursor'],
  ['logger', 'http/'],
  ['observability/', 'auth/', 'idempotency/'],
  ['users/'],
  ['credentials/', 'legacy/', 'system/', 'scim/', 'events/'],
  ['webhooks/'],
  ['stores', 'app'],
  ['migration/', 'service', 'client'],
  ['index', 'node'],
]

/** Files that may import the MongoDB driver: src/db/ and the repositories (other storage modules take its names from src/db/driver.ts). */
export const DRIVER_ALLOWED = /^db\/|\.repository\.ts$/
export const MAX_FILE_LINES = 300
export const MAX_FUNCTION_LINES = 80

export type Source = { path: string; text: string; code: string }

/** Every .ts file under src/, with `code`: the text with comments and literals blanked out (lines kept). */
export function readSources(root = SRC): Source[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
    )
  return walk(root)
    .sort()
    .map((file) => {
      const text = readFileSync(file, 'utf8')
      return { path: relative(root, file).split('\\').join('/'), text, code: blank(text) }
    })
}

/** The module a src-relative path belongs to: its top folder (`users/`) or, directly in src/, its name (`app`). */
export function moduleOf(path: string): string {
  const [first, ...rest] = path.split('/')
  return rest.length > 0 ? `${first}/` : (first ?? '').replace(/\.ts$/, '')
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*(['"])([^'"]+)\1|(?:^|[\s;])import\s*(['"])([^'"]+)\3|\bimport\(\s*(['"])([^'"]+)\5\s*\)/g

/** The module specifiers a file imports or re-exports (type-only ones included: they couple modules too). */
export function importsOf(source: Source): string[] {
  // Specifiers are string literals, blanked in `code`: find statements in `code`, read them from `text`.
  const found: string[] = []
  for (const match of source.code.matchAll(IMPORT)) {
    const at = match.index ?? 0
    const statement = source.text.slice(at, at + match[0].length)
    const specifier = /(['"])([^'"]+)\1\s*\)?\s*$/.exec(statement)?.[2]
    if (specifier) found.push(specifier)
  }
  return found
}

/** Folder-level arrows `from -> to`, each with the files that make it. */
export function arrows(sources: Source[]): Map<string, string[]> {
  const result = new Map<string, string[]>()
  const paths = new Set(sources.map((s) => s.path))
  for (const source of sources) {
    for (const specifier of importsOf(source)) {
      if (!specifier.startsWith('.')) continue
      const target = posix.normalize(posix.join(posix.dirname(source.path), specifier))
      if (target.startsWith('..')) continue // package.json and the like, outside src/
      const file = paths.has(`${target}.ts`) ? `${target}.ts` : paths.has(`${target}/index.ts`) ? `${target}/index.ts` : target
      const [from, to] = [moduleOf(source.path), moduleOf(file)]
      if (from === to) continue
      const key = `${from} -> ${to}`
      const files = result.get(key) ?? []
      if (!files.includes(source.path)) result.set(key, [...files, source.path])
    }
  }
  return new Map([...result].sort(([a], [b]) => a.localeCompare(b)))
}

/** Arrows that do not point to a lower layer, and modules no layer names. */
export function layerViolations(found: Map<string, string[]>, sources: Source[]): string[] {
  const rank = new Map(LAYERS.flatMap((layer, i) => layer.map((module) => [module, i] as const)))
  const problems = [...new Set(sources.map((s) => moduleOf(s.path)))]
    .filter((module) => !rank.has(module))
    .map((module) => `${module} is in no layer: place it in scripts/architecture.ts and docs/architecture.md`)
  for (const [arrow, files] of found) {
    const [from = '', to = ''] = arrow.split(' -> ')
    const [a, b] = [rank.get(from), rank.get(to)]
    if (a !== undefined && b !== undefined && a <= b) problems.push(`${arrow} points up or sideways (in ${files.join(', ')})`)
  }
  return problems
}

/** Cycles among modules (strongly connected components of more than one module). */
export function cycles(found: Map<string, string[]>): string[][] {
  const next = new Map<string, string[]>()
  for (const arrow of found.keys()) {
    const [from = '', to = ''] = arrow.split(' -> ')
    next.set(from, [...(next.get(from) ?? []), to])
  }
  // Tarjan's algorithm.
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const components: string[][] = []
  const visit = (node: string) => {
    index.set(node, index.size)
    low.set(node, index.get(node) ?? 0)
    stack.push(node)
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to)
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0))
      } else if (stack.includes(to)) low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0))
    }
    if (low.get(node) !== index.get(node)) return
    const component: string[] = []
    for (let top = stack.pop(); top !== undefined; top = top === node ? undefined : stack.pop()) component.push(top)
    if (component.length > 1) components.push(component.sort())
  }
  for (const node of next.keys()) if (!index.has(node)) visit(node)
  return components
}

/** Imports of the driver outside src/db/ and the storage modules; reads of the environment outside config.ts. */
export function boundaryViolations(sources: Source[]): string[] {
  const problems: string[] = []
  for (const source of sources) {
    if (!DRIVER_ALLOWED.test(source.path) && importsOf(source).some((s) => s === 'mongodb' || s === 'bson')) {
      problems.push(`${source.path} imports mongodb: only src/db/ and storage modules (*.repository.ts...) may`)
    }
    if (source.path !== 'config.ts' && /\bprocess\.env\b|\bBun\.env\b|\bimport\.meta\.env\b/.test(source.code)) {
      problems.push(`${source.path} reads the environment: only src/config.ts may`)
    }
  }
  return problems
}

/** Files over MAX_FILE_LINES and functions over MAX_FUNCTION_LINES (from the line of their body's `{` to its `}`). */
export function sizeViolations(sources: Source[]): string[] {
  const problems: string[] = []
  for (const source of sources) {
    const lines = source.text.split('\n').length - (source.text.endsWith('\n') ? 1 : 0)
    if (lines > MAX_FILE_LINES) problems.push(`${source.path} has ${lines} lines (at most ${MAX_FILE_LINES})`)
    for (const fn of functionBodies(source.code)) {
      if (fn.lines > MAX_FUNCTION_LINES) {
        problems.push(`${source.path}:${fn.line} a function of ${fn.lines} lines (at most ${MAX_FUNCTION_LINES})`)
      }
    }
  }
  return problems
}

const CONTROL = new Set(['if', 'for', 'while', 'switch', 'catch', 'with'])

/**
 * Blocks that are function bodies: a `{` right after `=>`, or after `)` (and a return type) whose
 * `(` does not follow a control keyword (`if (...) {` is not a function).
 */
export function functionBodies(code: string): { line: number; lines: number }[] {
  const opens: { at: number; fn: boolean }[] = []
  const parens: number[] = []
  const closeOf = new Map<number, number>()
  const found: { line: number; lines: number }[] = []
  const lineAt = (at: number) => code.slice(0, at).split('\n').length
  for (let i = 0; i < code.length; i++) {
    const ch = code[i]
    if (ch === '(') parens.push(i)
    else if (ch === ')') closeOf.set(i, parens.pop() ?? -1)
    else if (ch === '{') opens.push({ at: i, fn: isFunctionBody(code, i, closeOf) })
    else if (ch === '}') {
      const open = opens.pop()
      if (open?.fn) found.push({ line: lineAt(open.at), lines: lineAt(i) - lineAt(open.at) + 1 })
    }
  }
  return found
}

function isFunctionBody(code: string, at: number, closeOf: Map<number, number>): boolean {
  const before = code.slice(Math.max(0, at - 400), at)
  if (/=>\s*$/.test(before)) return true
  // `)` then optionally `: ReturnType` (one level of `{...}` allowed inside it), then the `{`;
  // after a bare `):` the `{` opens an object type, not a body.
  // A return type holds no `=` or `;`, and a `{` after `&`, `|` or `<` opens a type, not a body.
  const signature = /\)(\s*:\s*(?=\S)(?:[^;={}()]|\{[^{}]*\}|\([^()]*\))+?)?\s*$/.exec(before)
  if (!signature || /[&|<,]\s*$/.test(before)) return false
  const close = at - before.length + signature.index
  const open = closeOf.get(close)
  if (open === undefined || open < 0) return false
  const word = /([A-Za-z_$][\w$]*)\s*(?:<[^()]*>)?\s*$/.exec(code.slice(Math.max(0, open - 100), open))?.[1]
  return word !== undefined && !CONTROL.has(word)
}

/** `text` with comments, strings, template literals and regex literals replaced by spaces (newlines kept). */
export function blank(text: string): string {
  const out = text.split('')
  const clear = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' '
  }
  let i = 0
  const templates: number[] = [] // brace depth inside each open `${`
  let last = '' // the last significant character, to tell a regex from a division
  while (i < text.length) {
    const ch = text[i] as string
    const two = text.slice(i, i + 2)
    if (two === '//') {
      const end = text.indexOf('\n', i)
      clear(i, end < 0 ? text.length : end)
      i = end < 0 ? text.length : end
    } else if (two === '/*') {
      const end = text.indexOf('*/', i + 2) + 2
      clear(i, end)
      i = end
    } else if (ch === "'" || ch === '"') {
      let j = i + 1
      while (j < text.length && text[j] !== ch && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1
      clear(i + 1, j)
      i = j + 1
      last = ch
    } else if (ch === '`' || (ch === '}' && templates.at(-1) === 0)) {
      if (ch === '}') templates.pop()
      let j = i + 1
      while (j < text.length && text[j] !== '`' && text.slice(j, j + 2) !== '${') j += text[j] === '\\' ? 2 : 1
      clear(i + 1, j)
      if (text.slice(j, j + 2) === '${') {
        templates.push(0)
        i = j + 2
      } else i = j + 1
      last = '`'
    } else if (
      ch === '/' &&
      (last === '' || /[(,=:[!&|?{};+\-*%<>~^]/.test(last) || /\breturn\s*$/.test(text.slice(i - 10, i)))
    ) {
      let j = i + 1
      let inClass = false
      while (j < text.length && (inClass || text[j] !== '/') && text[j] !== '\n') {
        if (text[j] === '\\') j++
        else if (text[j] === '[') inClass = true
        else if (text[j] === ']') inClass = false
        j++
      }
      clear(i + 1, j)
      i = j + 1
      last = '/'
    } else {
      if (templates.length > 0 && ch === '{') templates[templates.length - 1] = (templates.at(-1) ?? 0) + 1
      if (templates.length > 0 && ch === '}') templates[templates.length - 1] = (templates.at(-1) ?? 0) - 1
      if (!/\s/.test(ch)) last = ch
      i++
    }
  }
  return out.join('')
}

if (import.meta.main) {
  const sources = readSources()
  const found = arrows(sources)
  for (const arrow of found.keys()) console.log(arrow)
  const problems = [
    ...layerViolations(found, sources),
    ...cycles(found).map((cycle) => `cycle: ${cycle.join(' <-> ')}`),
    ...boundaryViolations(sources),
    ...sizeViolations(sources),
  ]
  console.log(problems.length === 0 ? '\nno violations' : `\n${problems.join('\n')}`)
  if (problems.length > 0) process.exit(1)
}
