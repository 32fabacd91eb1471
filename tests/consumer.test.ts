import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { useTestApp } from './helpers/context'

/**
 * The typed client as another repository gets it: `bun run build:client`, `bun pm pack`, and a
 * fixture (tests/consumer) that installs the tarball like any dependency, type-checks against the
 * published declarations and calls a running server.
 */
const root = new URL('..', import.meta.url).pathname
const fixture = join(root, 'tests/consumer')
const dist = join(root, 'dist/client')

function run(cmd: string[], cwd: string, env: Record<string, string> = {}) {
  const proc = Bun.spawnSync(cmd, { cwd, env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' })
  return { code: proc.exitCode, out: `${proc.stdout.toString()}${proc.stderr.toString()}` }
}

function mustRun(cmd: string[], cwd: string) {
  const result = run(cmd, cwd)
  if (result.code !== 0) throw new Error(`${cmd.join(' ')} failed:\n${result.out}`)
}

beforeAll(() => {
  mustRun(['bun', 'run', 'build:client'], root)
  mustRun(['bun', 'pm', 'pack', '--quiet', '--filename', join(fixture, 'users-service.tgz')], root)
  // A fresh install every run: the tarball changes with every build.
  rmSync(join(fixture, 'node_modules'), { recursive: true, force: true })
  rmSync(join(fixture, 'bun.lock'), { force: true })
  mustRun(['bun', 'install'], fixture)
}, 120_000)

const t = await useTestApp({ name: 'consumer' })
const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: t.app.fetch })
afterAll(() => server.stop(true))

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.d.ts'))
    .map((name) => join(dir, name))
}

describe('the published client package', () => {
  it('declares ./client with types first, and hono as a peer dependency', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    expect(Object.keys(pkg.exports['./client'])[0]).toBe('types')
    expect(pkg.exports['./client'].types).toBe('./dist/client/client.d.ts')
    expect(pkg.peerDependencies.hono).toBeString()
    expect(pkg.dependencies.hono).toBeUndefined()
  })

  it('emits declarations that reference neither mongodb nor Bun', () => {
    const files = declarationFiles(dist)
    expect(files.length).toBeGreaterThan(5)
    const forbidden = /(from\s+|import\()\s*['"](mongodb|bson|bun|bun-types|bun:[^'"]*)['"]|reference\s+types=["']bun/
    for (const file of files) expect({ file, bad: forbidden.test(readFileSync(file, 'utf8')) }).toEqual({ file, bad: false })
  })

  it('type-checks the consumer fixture, where every @ts-expect-error marks a real error', () => {
    const tsc = join(fixture, 'node_modules/.bin/tsc')
    const checked = run([tsc, '--noEmit', '-p', '.'], fixture)
    expect(checked).toEqual({ code: 0, out: '' })

    // The same sources without the directives must fail on exactly the lines they annotated.
    const copy = mkdtempSync(join(tmpdir(), 'consumer-'))
    try {
      cpSync(join(fixture, 'src'), join(copy, 'src'), { recursive: true })
      cpSync(join(fixture, 'tsconfig.json'), join(copy, 'tsconfig.json'))
      symlinkSync(join(fixture, 'node_modules'), join(copy, 'node_modules'))
      const lines = readFileSync(join(fixture, 'src/misuse.ts'), 'utf8').split('\n')
      const expected = lines.flatMap((line, i) => (line.trim().startsWith('// @ts-expect-error') ? [i + 2] : []))
      expect(expected.length).toBeGreaterThanOrEqual(6)
      writeFileSync(
        join(copy, 'src/misuse.ts'),
        lines.map((l) => (l.trim().startsWith('// @ts-expect-error') ? '' : l)).join('\n'),
      )
      const failed = run([tsc, '--noEmit', '-p', '.'], copy)
      const errorLines = [...new Set([...failed.out.matchAll(/misuse\.ts\((\d+),/g)].map((m) => Number(m[1])))]
      expect(errorLines).toEqual(expected)
    } finally {
      rmSync(copy, { recursive: true, force: true })
    }
  }, 30_000)

  it('makes real calls against a running server: create, get, list with cursor, patch with If-Match, delete', async () => {
    // Asynchronous: the server answering it runs in this process.
    const proc = Bun.spawn(['bun', 'src/usage.ts'], {
      cwd: fixture,
      env: { ...process.env, USERS_SERVICE_URL: server.url.href },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    expect({ code, out, err }).toEqual({ code: 0, out: 'consumer ok\n', err: '' })
  }, 30_000)
})
