import { afterAll, describe, expect, it } from 'bun:test'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { BuildProgress, ensureLauncher } from '../src/db/launcher-build'

/**
 * Issue 14: the first `bun run dev` printed one line, then nothing for 90 s while Go downloaded
 * about 630 MB of modules. The build now says what it will do and how long it takes, then writes
 * a progress line every few seconds from go's own output. A fake `go` plays the real one's output
 * here (a real cold build is a minute and 630 MB of downloads).
 */
const projectRoot = new URL('..', import.meta.url).pathname
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'launcher-build-'))
  dirs.push(dir)
  return dir
}

/**
 * A `go` that downloads three modules (slowly), lists four packages, names FerretDB's module folder
 * (a fake one, holding the text tools/devdb/ferretdb-patches.json changes `found` times), compiles
 * three, and writes -o only when -modfile replaces FerretDB with a copy that was patched.
 */
function fakeGo(options: { failBuild?: boolean; found?: number } = {}): string {
  const module = tempDir()
  const file = join(module, 'internal/backends/sqlite/collection.go')
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, 'package sqlite\n' + '\tif params.Filter.Len() == 1 {\n\t}\n'.repeat(options.found ?? 2))
  chmodSync(file, 0o444)
  const path = join(tempDir(), 'go')
  writeFileSync(
    path,
    `#!/bin/sh
case "$1" in
  list)
    if [ "$2" = "-m" ]; then echo "${module}"; exit 0; fi
    for m in one two three; do
      echo "# get https://proxy.golang.org/example.com/$m/@v/v1.0.0.zip" >&2
      sleep 0.2
      echo "# get https://proxy.golang.org/example.com/$m/@v/v1.0.0.zip: 200 OK (0.2s)" >&2
    done
    printf 'fmt\\nexample.com/one\\nexample.com/two/sub\\nexample.com/devdb\\n' ;;
  build)
    ${options.failBuild ? 'echo "main.go:1:1: syntax error" >&2; exit 1' : ''}
    for p in example.com/one example.com/two/sub example.com/devdb; do echo "$p" >&2; sleep 0.2; done
    while [ $# -gt 0 ]; do
      case "$1" in -o) out="$2" ;; -modfile=*) modfile="\${1#-modfile=}" ;; esac
      shift
    done
    copy=$(sed -n 's|^replace github.com/FerretDB/FerretDB => "\\(.*\\)"$|\\1|p' "$modfile")
    [ "$(grep -c 'Len() >= 1' "$copy/internal/backends/sqlite/collection.go")" = 2 ] || { echo "not patched" >&2; exit 1; }
    echo launcher > "$out" ;;
esac
`,
  )
  chmodSync(path, 0o755)
  return path
}

const modulesInGoSum = readFileSync(join(projectRoot, 'tools/devdb/go.sum'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() && !line.includes('/go.mod ')).length

describe('building the embedded database launcher', () => {
  it('says what the first build downloads and how long it takes, shows progress, and says when it is done', async () => {
    const messages: string[] = []
    const cacheDir = tempDir()
    const binary = await ensureLauncher((m) => messages.push(m), { projectRoot, cacheDir, go: fakeGo(), progressEveryMs: 25 })
    expect(binary.startsWith(cacheDir)).toBe(true)
    expect(readFileSync(binary, 'utf8')).toBe('launcher\n')
    expect(messages[0]).toContain('630 MB')
    expect(messages[0]).toContain('about a minute')
    expect(messages.some((m) => new RegExp(`downloading Go modules, [0-3] of up to ${modulesInGoSum} so far`).test(m))).toBe(true)
    expect(messages.some((m) => /compiling, [0-3] of up to 4 packages/.test(m))).toBe(true)
    expect(messages.at(-1)).toMatch(/^Built the embedded database in \d+ s\.$/)
    // Built once: the next call finds it and says nothing.
    const again: string[] = []
    expect(await ensureLauncher((m) => again.push(m), { projectRoot, cacheDir, go: fakeGo() })).toBe(binary)
    expect(again).toEqual([])
  }, 20_000)

  it("reports a failed build with go's last lines, and leaves no binary", async () => {
    const cacheDir = tempDir()
    const failed = await ensureLauncher(() => {}, { projectRoot, cacheDir, go: fakeGo({ failBuild: true }) }).then(
      () => undefined,
      (error: unknown) => error as Error,
    )
    expect(failed?.message).toStartWith('go build failed:')
    expect(failed?.message).toContain('main.go:1:1: syntax error')
    expect(existsSync(join(cacheDir, 'devdb'))).toBe(false)
  }, 20_000)

  it("builds against a patched copy of FerretDB's module, and stops when a patch no longer finds its text", async () => {
    // The fake go above builds only with the copy patched (both occurrences), named by -modfile.
    const cacheDir = tempDir()
    const binary = await ensureLauncher(() => {}, { projectRoot, cacheDir, go: fakeGo() })
    expect(readFileSync(binary, 'utf8')).toBe('launcher\n')
    // The copy and its go.mod are gone: only the launcher is left.
    expect(readdirSync(cacheDir)).toEqual([basename(binary)])
    const changed = await ensureLauncher(() => {}, { projectRoot, cacheDir: tempDir(), go: fakeGo({ found: 1 }) }).then(
      () => undefined,
      (error: unknown) => error as Error,
    )
    expect(changed?.message).toContain('ferretdb-patches.json: expected 2 of "if params.Filter.Len() == 1 {"')
    expect(changed?.message).toContain('found 1')
  }, 20_000)

  it('says Go is missing when it is', async () => {
    const failed = await ensureLauncher(() => {}, { projectRoot, cacheDir: tempDir(), go: join(tempDir(), 'no-go') }).then(
      () => undefined,
      (error: unknown) => error as Error,
    )
    expect(failed?.message).toStartWith('Go is not installed')
  })
})

describe('build progress, read from go output', () => {
  it('counts downloaded module archives and compiled packages', () => {
    const progress = new BuildProgress('a v1 h1:x\na v1/go.mod h1:y\nb v2 h1:z\n')
    progress.downloadLine('# get https://proxy.golang.org/a/@v/v1.zip')
    progress.downloadLine('# get https://proxy.golang.org/a/@v/v1.zip: 200 OK (1.0s)')
    progress.downloadLine('# get https://proxy.golang.org/a/@v/v1.mod: 200 OK (0.1s)')
    expect(progress.describe(3_000)).toBe('Building the embedded database: downloading Go modules, 1 of up to 2 so far (3 s)')
    progress.compiling(540)
    for (const line of ['github.com/FerretDB/FerretDB/internal/handler', 'modernc.org/sqlite/lib', '# some comment', 'EOF x'])
      progress.compileLine(line)
    expect(progress.describe(75_000)).toBe('Building the embedded database: compiling, 2 of up to 540 packages (1 min 15 s)')
  })
})
