/**
 * Consumer projects of the packed client (tests/consumer): used by tests/client.test.ts to check
 * them and by `bun run client:report` to measure them. Each project is one standard TypeScript
 * setup (tests/consumer/setups/<setup>) with the shared sources (tests/consumer/src) and the
 * tarball installed as any dependency is.
 */
import { cpSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const root = new URL('../..', import.meta.url).pathname
export const clientDir = join(root, 'client')
export const consumerDir = join(root, 'tests/consumer')
export const tscPath = join(root, 'node_modules/.bin/tsc')

export const SETUPS = ['nodenext', 'bundler', 'commonjs'] as const
export type Setup = (typeof SETUPS)[number]

/** The hono the consumers install: the version the server is built and tested with. */
export const honoVersion: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies.hono

export type RunResult = { code: number; out: string; err: string }

/** Runs a command with a minimal environment (no NODE_OPTIONS, no TS settings leak in). */
export async function run(cmd: string[], cwd: string, env: Record<string, string> = {}): Promise<RunResult> {
  const proc = Bun.spawn(cmd, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  return { code, out, err }
}

export async function mustRun(cmd: string[], cwd: string): Promise<RunResult> {
  const result = await run(cmd, cwd)
  if (result.code !== 0) throw new Error(`${cmd.join(' ')} failed in ${cwd}:\n${result.out}${result.err}`)
  return result
}

/** Packs client/ from a clean state (its prepack must build it) into `destination`; the tarball's path. */
export async function packClient(destination: string): Promise<string> {
  rmSync(join(clientDir, 'dist'), { recursive: true, force: true })
  await mustRun(['bun', 'pm', 'pack', '--destination', destination, '--quiet'], clientDir)
  const name = readdirSync(destination).find((file) => file.startsWith('users-service-client-') && file.endsWith('.tgz'))
  if (!name) throw new Error(`bun pm pack left no tarball in ${destination}`)
  return join(destination, name)
}

/** A consumer project of `setup` in `dir`, with the tarball and hono installed. */
export async function createConsumer(setup: Setup, dir: string, tarball: string): Promise<void> {
  cpSync(join(consumerDir, 'setups', setup), dir, { recursive: true })
  cpSync(join(consumerDir, 'src'), join(dir, 'src'), { recursive: true })
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  pkg.dependencies = { '@users-service/client': `file:${tarball}`, hono: honoVersion }
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2))
  await mustRun(['bun', 'install', '--no-save'], dir)
}

/** The `tsc -p .` of a project (TypeScript of this repository, the consumer's version). */
export const tsc = (dir: string, ...args: string[]) => run([tscPath, '-p', '.', ...args], dir)

const isMarker = (line: string) => line.trim().startsWith('// @ts-expect-error')

/**
 * Compiles `project` with the markers of src/misuse.ts blanked out (line numbers kept), in a copy
 * at `copy`: the lines that now fail, the lines that were marked, and errors in any other file.
 */
export async function misuseErrors(project: string, copy: string) {
  const lines = readFileSync(join(project, 'src/misuse.ts'), 'utf8').split('\n')
  const marked = lines.flatMap((line, i) => (isMarker(line) ? [i + 2] : []))
  cpSync(project, copy, { recursive: true, filter: (source) => !source.includes('node_modules') && !source.includes('/dist') })
  symlinkSync(join(project, 'node_modules'), join(copy, 'node_modules'))
  writeFileSync(join(copy, 'src/misuse.ts'), lines.map((line) => (isMarker(line) ? '' : line)).join('\n'))
  const checked = await tsc(copy, '--noEmit')
  const errors = checked.out.split('\n').filter((line) => /error TS\d+/.test(line))
  const failing = [...new Set(errors.flatMap((line) => /^src\/misuse\.ts\((\d+),/.exec(line)?.[1] ?? []).map(Number))]
  return { marked, failing, elsewhere: errors.filter((line) => !line.startsWith('src/misuse.ts(')) }
}
