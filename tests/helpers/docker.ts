import { existsSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, posix } from 'node:path'

/**
 * Just enough of Dockerfile and .dockerignore syntax, and of the service's import graph, for
 * tests/dockerfile.test.ts to check the image without a Docker engine.
 */

const root = join(import.meta.dir, '../..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')

// --- Dockerfile ------------------------------------------------------------------------------

export type Instruction = { keyword: string; args: string }
export type Stage = { name: string | undefined; image: string; parent: number | undefined; instructions: Instruction[] }

/** Logical instructions: comments dropped, `\` continuations joined. */
export function instructionsOf(text: string): Instruction[] {
  const result: Instruction[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('#')) continue
    const continued = line.endsWith('\\')
    pending = `${pending} ${continued ? line.slice(0, -1) : line}`.trim()
    if (continued || pending === '') continue
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(pending) ?? []
    result.push({ keyword: keyword.toUpperCase(), args })
    pending = ''
  }
  return result
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = []
  for (const instruction of instructionsOf(text)) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'))
      const parent = stageIndex(stages, image)
      stages.push({ name: as?.toUpperCase() === 'AS' ? name : undefined, image, parent, instructions: [] })
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return stages
}

/** A stage referred to by name or number (`FROM deps`, `COPY --from=0`); undefined for an image. */
export function stageIndex(stages: Stage[], ref: string): number | undefined {
  if (/^\d+$/.test(ref)) return Number(ref) < stages.length ? Number(ref) : undefined
  const index = stages.findIndex((stage) => stage.name?.toLowerCase() === ref.toLowerCase())
  return index === -1 ? undefined : index
}

/** A stage's instructions including those it inherits through `FROM <earlier stage>`. */
export function inherited(stages: Stage[], index: number): Instruction[] {
  const stage = stages[index]!
  return [...(stage.parent === undefined ? [] : inherited(stages, stage.parent)), ...stage.instructions]
}

export function baseImage(stages: Stage[], index: number): string {
  const stage = stages[index]!
  return stage.parent === undefined ? stage.image : baseImage(stages, stage.parent)
}

export function last(instructions: Instruction[], keyword: string): string | undefined {
  return instructions.findLast((instruction) => instruction.keyword === keyword)?.args
}

/** The working directory after the stage's instructions; undefined when only the base image sets one. */
export function workdirOf(instructions: Instruction[]): string | undefined {
  let workdir: string | undefined
  for (const { keyword, args } of instructions) {
    if (keyword === 'WORKDIR') workdir = posix.resolve(workdir ?? '/', args)
  }
  return workdir
}

export type Copy = { from: string | undefined; sources: string[]; dest: string }

export function parseCopy(args: string): Copy {
  let rest = args
  const flags = new Map<string, string>()
  for (let flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest); flag; flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)) {
    flags.set(flag[1]!, flag[2] ?? '')
    rest = rest.slice(flag[0].length)
  }
  const paths: string[] = rest.startsWith('[') ? JSON.parse(rest) : rest.split(/\s+/)
  if (paths.some((path) => /[*?[]/.test(path))) throw new Error(`COPY with wildcards is not supported here: ${args}`)
  return { from: flags.get('from'), sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' }
}

/**
 * The absolute paths at which a build-context file (`src/index.ts`) ends up in a stage, through its
 * COPY instructions, the stage it is built `FROM`, and `COPY --from` other stages. Overwrites and
 * deletions by RUN are not modelled.
 */
export function landings(stages: Stage[], index: number, contextFile: string): string[] {
  const stage = stages[index]!
  const found = stage.parent === undefined ? [] : landings(stages, stage.parent, contextFile)
  let workdir = stage.parent === undefined ? '/' : (workdirOf(inherited(stages, stage.parent)) ?? '/')
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'WORKDIR') workdir = posix.resolve(workdir, args)
    if (keyword !== 'COPY') continue
    const copy = parseCopy(args)
    const from = copy.from === undefined ? undefined : stageIndex(stages, copy.from)
    if (copy.from !== undefined && from === undefined) continue // from an external image
    const origins = from === undefined ? [`/${contextFile}`] : landings(stages, from, contextFile)
    const dest = posix.resolve(workdir, copy.dest)
    const intoDirectory = copy.dest.endsWith('/') || dest === workdir || copy.sources.length > 1
    for (const source of copy.sources.map((path) => posix.resolve('/', path))) {
      for (const origin of origins) {
        if (origin === source) found.push(intoDirectory ? posix.join(dest, posix.basename(origin)) : dest)
        else if (source === '/' || origin.startsWith(`${source}/`)) found.push(posix.join(dest, posix.relative(source, origin)))
      }
    }
  }
  return found
}

export function jsonArray(args: string | undefined): unknown {
  try {
    return JSON.parse(args ?? '')
  } catch {
    return undefined
  }
}

/** `ENV A=1 B=2` and the legacy `ENV A 1`, over a stage's inherited instructions. */
export function envOf(instructions: Instruction[]): Map<string, string> {
  const env = new Map<string, string>()
  for (const { keyword, args } of instructions) {
    if (keyword !== 'ENV') continue
    const pairs = [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)]
    if (pairs.length === 0) {
      const [name = '', ...value] = args.split(/\s+/)
      env.set(name, value.join(' '))
    }
    for (const [, name = '', value = ''] of pairs) env.set(name, value.replace(/^"(.*)"$/, '$1'))
  }
  return env
}

// --- .dockerignore ---------------------------------------------------------------------------

export type IgnoreRule = { exception: boolean; pattern: RegExp }

/** Docker's rules: `*` and `?` within one path segment, `**` across segments, `!` re-includes, last match wins. */
export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exception = line.startsWith('!')
      const cleaned = posix.normalize((exception ? line.slice(1) : line).trim()).replace(/^\/+|\/+$/g, '')
      return { exception, pattern: patternToRegExp(cleaned) }
    })
}

export function patternToRegExp(pattern: string): RegExp {
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!
    if (char === '*' && pattern[i + 1] === '*') {
      i++
      if (pattern[i + 1] === '/') i++
      source += i + 1 === pattern.length ? '.*' : '(?:.*/)?'
    } else if (char === '*') {
      source += '[^/]*'
    } else if (char === '?') {
      source += '[^/]'
    } else if (char === '[' || char === '\\') {
      throw new Error(`.dockerignore pattern not supported by this test: ${pattern}`)
    } else {
      source += char.replace(/[.+^${}()|\]]/g, '\\$&')
    }
  }
  return new RegExp(`^${source}$`)
}

/** Whether a context path (`src/index.ts`) stays out of the build context: a pattern may match it or a parent directory. */
export function isIgnored(rules: IgnoreRule[], path: string): boolean {
  const segments = path.split('/')
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'))
  let ignored = false
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.pattern.test(candidate))) ignored = !rule.exception
  }
  return ignored
}

// --- what the service needs at run time -------------------------------------------------------

export function resolveImport(from: string, specifier: string): string {
  const base = posix.join(posix.dirname(from), specifier)
  const file = [base, `${base}.ts`, `${base}/index.ts`].find(
    (path) => existsSync(join(root, path)) && statSync(join(root, path)).isFile(),
  )
  if (!file) throw new Error(`${from}: cannot resolve '${specifier}'`)
  return file
}

/** Follows the runtime imports (type-only ones are erased) from the entry point, transitively. */
export function runtimeGraph(entry: string): { files: string[]; packages: string[] } {
  const transpiler = new Bun.Transpiler({ loader: 'ts' })
  const files = new Set<string>()
  const packages = new Set<string>()
  const queue = [entry]
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (files.has(file)) continue
    files.add(file)
    if (!file.endsWith('.ts')) continue
    for (const { path } of transpiler.scanImports(read(file))) {
      if (path.startsWith('.')) queue.push(resolveImport(file, path))
      else packages.add(path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]!)
    }
  }
  const builtin = (name: string) => name === 'bun' || /^(bun|node):/.test(name) || builtinModules.includes(name)
  return { files: [...files].sort(), packages: [...packages].filter((name) => !builtin(name)).sort() }
}
