import { describe, expect, it } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { KNOWN_VARIABLES } from '../src/config'
import { problemCatalog } from '../src/http/problem'
import { brokenLinks, documentationFiles, githubSlug, headingAnchors } from './helpers/markdown'

/**
 * The README and docs/ say only what is true of the repository: every relative link and anchor
 * leads somewhere, the error and configuration references match the code, and every `bun run`
 * command they show exists.
 */
const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '')
const files = documentationFiles(root)
const read = (path: string) => readFileSync(join(root, path), 'utf8')

describe('the link checker', () => {
  it('makes the anchors GitHub makes', () => {
    expect(githubSlug('Reliability: outages, kill -9 and soak')).toBe('reliability-outages-kill--9-and-soak')
    expect(githubSlug('Import: bun run import:seed')).toBe('import-bun-run-importseed')
    expect(githubSlug('Héllo_wörld & Co.')).toBe('héllo_wörld--co')
    expect([...headingAnchors('# A\n## Same\n### Same\n#### `code` *in* [it](x.md)\n')]).toEqual([
      'a',
      'same',
      'same-1',
      'code-in-it',
    ])
  })

  it('reports a missing file, a missing heading, an anchor into a folder, and not a link in code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'docs-links-'))
    try {
      writeFileSync(join(dir, 'b.md'), '# There\n')
      writeFileSync(
        join(dir, 'a.md'),
        '# Here\n[ok](b.md#there) [self](#here) [gone](c.md) [wrong](b.md#nowhere) [dir](.#x)\n' +
          '`[code](nothing.md)`\n```\n[fenced](nothing.md)\n```\n[web](https://example.com/x.md)\n',
      )
      expect(brokenLinks(join(dir, 'a.md'), dir)).toEqual([
        'a.md: c.md (no such file)',
        'a.md: b.md#nowhere (no such heading)',
        'a.md: .#x (an anchor into something that is not a Markdown file)',
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('README.md and docs/*.md', () => {
  it('cover the README and every page of docs/', () => {
    expect(files.map((file) => relative(root, file))).toContain('docs/reliability.md')
    expect(files.length).toBeGreaterThan(5)
  })

  it.each(files.map((file) => [relative(root, file), file]))('%s: every relative link and anchor resolves', (_, file) => {
    expect(brokenLinks(file, root)).toEqual([])
  })

  it('docs/README.md lists every page of docs/', () => {
    const index = read('docs/README.md')
    for (const file of files) {
      const name = relative(join(root, 'docs'), file)
      if (name.startsWith('..') || name === 'README.md') continue
      expect(index).toContain(`](${name})`)
    }
  })

  it('every `bun run` command they show is a script of package.json', () => {
    const scripts = Object.keys(JSON.parse(read('package.json')).scripts as Record<string, string>)
    const shown = new Set<string>()
    for (const file of files) {
      for (const match of readFileSync(file, 'utf8').matchAll(/\bbun run((?: --?[a-z-]+)*) ([a-z][a-z0-9:-]*)/g)) {
        shown.add(match[2] as string)
      }
    }
    expect(shown.size).toBeGreaterThan(10)
    expect([...shown].filter((name) => !scripts.includes(name))).toEqual([])
  })
})

describe('docs/errors.md', () => {
  it('lists exactly the problem catalog: each code with its status and title', () => {
    const rows = [...read('docs/errors.md').matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| ([^|]+) \|/gm)].map((m) => [
      m[1],
      Number(m[2]),
      m[3]?.trim(),
    ])
    const catalog = Object.entries(problemCatalog).map(([code, { status, title }]) => [code, status, title])
    expect(rows).toEqual(catalog)
  })
})

describe('docs/configuration.md', () => {
  it('has a row for every variable src/config.ts reads, and for no other', () => {
    // The variables the schema declares (what the unknown-variable warning knows too).
    const variables = [...KNOWN_VARIABLES]
    expect(variables.length).toBeGreaterThan(10)
    const documented = [...read('docs/configuration.md').matchAll(/^\| (`[A-Z][A-Z0-9_]*`(?:, `[A-Z][A-Z0-9_]*`)*) \|/gm)]
      .flatMap((m) => (m[1] as string).split(', '))
      .map((name) => name.replaceAll('`', ''))
    expect(documented.sort()).toEqual(variables.sort())
  })
})
