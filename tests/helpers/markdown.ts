import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

/**
 * What the documentation tests need from Markdown, parsed with Bun's own CommonMark/GFM parser
 * (`Bun.markdown`), so links inside code blocks or code spans are not mistaken for links.
 */

/** The anchor GitHub gives a heading: lower case, punctuation dropped, each space a hyphen (github-slugger). */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** Every link and image target of a Markdown text, in order. */
export function linkTargets(markdown: string): string[] {
  const targets: string[] = []
  Bun.markdown.render(markdown, {
    link: (children, meta) => {
      targets.push(meta.href)
      return children
    },
    image: (children, meta) => {
      targets.push(meta.src)
      return children
    },
  })
  return targets
}

/** The anchors of a Markdown text's headings, as GitHub renders them (repeats get -1, -2, ...). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  Bun.markdown.render(markdown, {
    heading: (children) => {
      const slug = githubSlug(children)
      const count = seen.get(slug) ?? 0
      seen.set(slug, count + 1)
      anchors.add(count === 0 ? slug : `${slug}-${count}`)
      return children
    },
  })
  return anchors
}

/**
 * The broken relative links of one Markdown file: a target that does not exist, or an `#anchor`
 * that is no heading of the target. Absolute URLs (`https:`, `mailto:`) are not checked here.
 */
export function brokenLinks(file: string, root: string): string[] {
  const broken: string[] = []
  const source = readFileSync(file, 'utf8')
  for (const target of linkTargets(source)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue
    const [pathPart = '', anchor] = target.split('#', 2)
    const path = decodeURIComponent(pathPart)
    const resolved = path === '' ? file : resolve(dirname(file), path)
    const where = `${relative(root, file)}: ${target}`
    if (!resolved.startsWith(root)) {
      broken.push(`${where} (leaves the repository)`)
      continue
    }
    if (!existsSync(resolved)) {
      broken.push(`${where} (no such file)`)
      continue
    }
    if (anchor === undefined) continue
    if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) {
      broken.push(`${where} (an anchor into something that is not a Markdown file)`)
      continue
    }
    if (!headingAnchors(readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${where} (no such heading)`)
  }
  return broken
}

/** The fenced block that follows the first line containing `marker`, without its fences. */
export function fencedBlockAfter(markdown: string, marker: string): string {
  const start = markdown.indexOf(marker)
  if (start === -1) throw new Error(`no "${marker}" in the text`)
  const fence = /^```[a-z]*\n([\s\S]*?)^```$/m.exec(markdown.slice(start))
  if (!fence?.[1]) throw new Error(`no fenced block after "${marker}"`)
  return fence[1]
}

/** The Markdown files the documentation tests cover: README.md and docs/*.md. */
export function documentationFiles(root: string): string[] {
  const docs = new Bun.Glob('docs/*.md').scanSync({ cwd: root })
  return ['README.md', ...[...docs].sort()].map((name) => join(root, name))
}
