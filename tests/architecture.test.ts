import { describe, expect, it } from 'bun:test'
import {
  arrows,
  blank,
  boundaryViolations,
  cycles,
  functionBodies,
  layerViolations,
  MAX_FUNCTION_LINES,
  readSources,
  type Source,
  sizeViolations,
} from '../scripts/architecture'

/**
 * The layering of docs/architecture.md, checked on the source itself: folders import one way,
 * the driver and the environment stay where they belong, files and functions stay small.
 * `bun run arch` prints the folder-level arrows (and ARCH_PRINT=1 makes this test print them).
 */
const sources = readSources()
const found = arrows(sources)
if (process.env.ARCH_PRINT) console.log([...found.keys()].join('\n'))

describe('the source', () => {
  it('has folder-level import arrows to check', () => {
    expect(found.size).toBeGreaterThan(20)
    expect(found.has('users/ -> http/')).toBe(true)
  })

  it('has no cycle between folders', () => {
    expect(cycles(found)).toEqual([])
  })

  it('imports only downward through the layers', () => {
    expect(layerViolations(found, sources)).toEqual([])
  })

  it('imports mongodb only in src/db and storage modules, and reads the environment only in config.ts', () => {
    expect(boundaryViolations(sources)).toEqual([])
  })

  it(`keeps files within 300 lines and functions within ${MAX_FUNCTION_LINES}`, () => {
    expect(sizeViolations(sources)).toEqual([])
  })
})

/** A made-up source tree, to show each check catches what it is for. */
const fake = (files: Record<string, string>): Source[] =>
  Object.entries(files).map(([path, text]) => ({ path, text, code: blank(text) }))

describe('the checks themselves', () => {
  it('catch a back-edge and the cycle it makes', () => {
    const tree = fake({
      'users/users.service.ts': "import type { X } from '../legacy/legacy.handlers'\n",
      'legacy/legacy.handlers.ts': "import { y } from '../users/users.service'\n",
    })
    const both = arrows(tree)
    expect([...both.keys()]).toEqual(['legacy/ -> users/', 'users/ -> legacy/'])
    expect(cycles(both)).toEqual([['legacy/', 'users/']])
    expect(layerViolations(both, tree)).toEqual(['users/ -> legacy/ points up or sideways (in users/users.service.ts)'])
  })

  it('catch a folder no layer names', () => {
    const tree = fake({ 'groups/groups.routes.ts': "import { z } from '@hono/zod-openapi'\n" })
    expect(layerViolations(arrows(tree), tree)).toEqual([
      'groups/ is in no layer: place it in scripts/architecture.ts and docs/architecture.md',
    ])
  })

  it('catch the driver outside storage and the environment outside config', () => {
    const tree = fake({
      'users/users.service.ts': "import { ObjectId } from 'mongodb'\nconst port = process.env.PORT\n",
      'users/users.repository.ts': "import { ObjectId } from 'mongodb'\n// process.env in a comment is fine\n",
    })
    expect(boundaryViolations(tree)).toEqual([
      'users/users.service.ts imports mongodb: only src/db/ and storage modules (*.repository.ts...) may',
      'users/users.service.ts reads the environment: only src/config.ts may',
    ])
  })

  it('measure function bodies, and not the blocks of if, strings or regular expressions', () => {
    const code = blank(
      [
        'export function outer(a: number): { b: string } {',
        "  if (a > 1) { return { b: '}}}' } }",
        '  const re = /[{]{2}/',
        '  const inner = async (x: number) => {',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: source text holding a template literal, on purpose.
        '    return `${x}{`',
        '  }',
        "  return { b: 'x' }",
        '}',
      ].join('\n'),
    )
    expect(functionBodies(code).sort((p, q) => p.line - q.line)).toEqual([
      { line: 1, lines: 8 },
      { line: 4, lines: 3 },
    ])
    const long = `function f() {\n${'  call()\n'.repeat(MAX_FUNCTION_LINES)}}\n`
    expect(sizeViolations(fake({ 'users/long.ts': long }))).toEqual([
      `users/long.ts:1 a function of ${MAX_FUNCTION_LINES + 2} lines (at most ${MAX_FUNCTION_LINES})`,
    ])
  })
})
