import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Builds the embedded database's launcher (tools/devdb, Go) on demand into a cache folder, keyed by
 * a hash of its sources, and tells a waiting human how it goes: the first build downloads about
 * 630 MB of Go modules and compiles some 500 packages, a minute or more of silence otherwise.
 */

export type LauncherBuildOptions = {
  /** The checkout's root (holding tools/devdb). */
  projectRoot: string
  /** Where built launchers are kept; `<projectRoot>/.cache/devdb` by default. */
  cacheDir?: string
  /** The go command; `go` on PATH by default. */
  go?: string
  /** How often a progress line is written while building; 5 s by default. */
  progressEveryMs?: number
}

/** Returns the launcher binary for the current sources, building it with Go when missing. */
export async function ensureLauncher(
  onProgress: (message: string) => void,
  { projectRoot, cacheDir = join(projectRoot, '.cache', 'devdb'), go = 'go', progressEveryMs = 5000 }: LauncherBuildOptions,
): Promise<string> {
  const launcherDir = join(projectRoot, 'tools', 'devdb')
  const sources = readdirSync(launcherDir)
    .filter((name) => name.endsWith('.go') || name === 'go.mod' || name === 'go.sum' || name === PATCHES_FILE)
    .sort()
  const hash = createHash('sha256')
  for (const name of sources) hash.update(name).update(readFileSync(join(launcherDir, name)))
  const binary = join(cacheDir, `devdb-${hash.digest('hex').slice(0, 16)}`)
  if (existsSync(binary)) return binary

  mkdirSync(cacheDir, { recursive: true })
  onProgress(
    'Building the embedded database (the FerretDB launcher in tools/devdb) with Go. The first time, this downloads ' +
      'about 630 MB of Go modules and compiles about 540 packages (325 MB of build cache): about a minute ' +
      '(50 s measured on 2 cores with a fast network: 8 s downloading, 42 s compiling), longer on a slow network. ' +
      'Later starts reuse the build.',
  )
  const started = performance.now()
  const progress = new BuildProgress(readFileSync(join(launcherDir, 'go.sum'), 'utf8'))
  const timer = setInterval(() => onProgress(progress.describe(performance.now() - started)), progressEveryMs)
  const partial = `${binary}.${process.pid}.tmp`
  const work = `${binary}.${process.pid}.build`
  try {
    // `go list -deps` fetches exactly the modules the build needs (-x names each download), then
    // `go build -v` names each package it compiles.
    const packages = await runGo(go, ['list', '-x', '-deps', '.'], launcherDir, (line) => progress.downloadLine(line))
    progress.compiling(packages.split('\n').filter(Boolean).length)
    const modfile = await patchedModule(go, launcherDir, work)
    await runGo(
      go,
      ['build', '-v', '-trimpath', '-buildvcs=false', `-modfile=${modfile}`, '-o', partial, '.'],
      launcherDir,
      (line) => progress.compileLine(line),
    )
  } finally {
    clearInterval(timer)
    rmSync(work, { recursive: true, force: true })
  }
  renameSync(partial, binary) // atomic: concurrent builders never see half a file
  onProgress(`Built the embedded database in ${formatElapsed(performance.now() - started)}.`)
  return binary
}

/** tools/devdb's changes to FerretDB's sources, applied before each build (docs/development.md). */
const PATCHES_FILE = 'ferretdb-patches.json'

type Patches = {
  module: string
  patches: { file: string; find: string; replace: string; count: number }[]
}

/**
 * Copies the patched module (downloaded by `go list`) into `work`, applies each patch (exact text,
 * found exactly `count` times, or the build stops: a new FerretDB version needs them reviewed), and
 * writes a go.mod beside it that is tools/devdb's with a `replace` to the copy: the one to build with.
 */
async function patchedModule(go: string, launcherDir: string, work: string): Promise<string> {
  const { module, patches } = JSON.parse(readFileSync(join(launcherDir, PATCHES_FILE), 'utf8')) as Patches
  const original = (await runGo(go, ['list', '-m', '-f', '{{.Dir}}', module], launcherDir, () => {})).trim()
  const copy = join(work, 'module')
  cpSync(original, copy, { recursive: true })
  // The module cache's files and folders are read-only: writable, so the patch and the cleanup can work.
  chmodSync(copy, 0o755)
  for (const entry of readdirSync(copy, { recursive: true, withFileTypes: true })) {
    chmodSync(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644)
  }
  for (const { file, find, replace, count } of patches) {
    const path = join(copy, file)
    const text = readFileSync(path, 'utf8')
    const found = text.split(find).length - 1
    if (found !== count) {
      throw new Error(`${PATCHES_FILE}: expected ${count} of ${JSON.stringify(find)} in ${module}'s ${file}, found ${found}`)
    }
    writeFileSync(path, text.replaceAll(find, replace))
  }
  const modfile = join(work, 'go.mod')
  const goMod = readFileSync(join(launcherDir, 'go.mod'), 'utf8')
  writeFileSync(modfile, `${goMod}\nreplace ${module} => ${JSON.stringify(copy)}\n`)
  writeFileSync(join(work, 'go.sum'), readFileSync(join(launcherDir, 'go.sum')))
  return modfile
}

/** What the build has done so far, from go's own output. */
export class BuildProgress {
  private downloaded = 0
  private compiled = 0
  private packages: number | undefined
  private readonly modules: number

  /** `goSum`: the go.sum text; its non-`/go.mod` lines are the modules whose sources may be fetched. */
  constructor(goSum: string) {
    this.modules = goSum.split('\n').filter((line) => line.trim() && !line.includes('/go.mod ')).length
  }

  /** A `go -x` line; `# get <url>.zip: 200 OK (1.2s)` is one module's sources downloaded. */
  downloadLine(line: string): void {
    if (/^# get \S+\.zip: 200\b/.test(line)) this.downloaded++
  }

  /** Download phase over: the build will compile at most `packages` packages. */
  compiling(packages: number): void {
    this.packages = packages
  }

  /** A `go build -v` line: the import path of a package being compiled. */
  compileLine(line: string): void {
    if (/^[\w.~-]+(\/[\w.~+-]+)*$/.test(line.trim())) this.compiled++
  }

  describe(elapsedMs: number): string {
    const elapsed = formatElapsed(elapsedMs)
    if (this.packages === undefined) {
      return `Building the embedded database: downloading Go modules, ${this.downloaded} of up to ${this.modules} so far (${elapsed})`
    }
    return `Building the embedded database: compiling, ${this.compiled} of up to ${this.packages} packages (${elapsed})`
  }
}

function formatElapsed(ms: number): string {
  const seconds = Math.round(ms / 1000)
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`
}

/** Runs go; resolves with its stdout; feeds each stderr line to `onLine`; rejects with the last lines. */
function runGo(go: string, args: string[], cwd: string, onLine: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let pending = ''
    const tail: string[] = []
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        onLine(line)
        tail.push(line)
        if (tail.length > 40) tail.shift()
      }
    })
    child.once('error', (error) =>
      reject(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error(
              'Go is not installed: it builds the embedded database. Install Go 1.24+, or set MONGODB_URI to use your own MongoDB.',
            )
          : error,
      ),
    )
    child.once('close', (code) => {
      if (pending) onLine(pending)
      if (code === 0) resolve(stdout)
      else reject(new Error(`go ${args[0]} failed:\n${[...tail, pending].join('\n')}`))
    })
  })
}
