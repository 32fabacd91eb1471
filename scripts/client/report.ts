/**
 * Measures the client package as consumers get it (`bun run client:report [--runs N]`): what an
 * install brings (packages, sizes), and per consumer setup whether the usage compiles, how many
 * misuse cases are rejected on their line, and how long the consumer's `tsc` takes (the median of
 * N runs, wall clock and tsc's own "Total time"). Prints Markdown tables. The runtime matrix (Bun,
 * Node ESM, Node CommonJS against the real service) is tests/client.test.ts's.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createConsumer, honoVersion, misuseErrors, mustRun, packClient, run, SETUPS, tsc, tscPath } from './consumers'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } })
const runs = Number(values.runs)
const work = mkdtempSync(join(tmpdir(), 'users-service-client-report-'))

/** Apparent size in bytes of every file under `dir` (what `du --apparent-size` counts). */
function bytes(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => statSync(join(dir, name), { throwIfNoEntry: false }))
    .reduce((sum, stat) => sum + (stat?.isFile() ? stat.size : 0), 0)
}

/** The packages in a node_modules directory (scoped ones counted one by one). */
function packages(modules: string): string[] {
  return readdirSync(modules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) => (name.startsWith('@') ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : [name]))
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN

try {
  mkdirSync(join(work, 'pack'))
  const tarball = await packClient(join(work, 'pack'))

  // An empty project that adds the client and hono, as the README says.
  const empty = join(work, 'empty')
  mkdirSync(empty)
  writeFileSync(join(empty, 'package.json'), JSON.stringify({ name: 'empty', private: true }))
  await mustRun(['bun', 'add', tarball, `hono@${honoVersion}`], empty)
  const modules = join(empty, 'node_modules')
  const installed = packages(modules)
  const own = join(modules, '@users-service/client')
  // Every declaration file: the entries (index.d.ts, index.d.cts) and the types they share.
  const declarations = readdirSync(join(own, 'dist'))
    .filter((name) => /\.d\.c?ts$/.test(name))
    .reduce((sum, name) => sum + statSync(join(own, 'dist', name)).size, 0)
  console.log('## Install (bun add <tarball> hono, into an empty project)\n')
  console.log('| packages | node_modules | the client itself | its declarations |')
  console.log('|---|---|---|---|')
  console.log(
    `| ${installed.length} (${installed.join(', ')}) | ${kb(bytes(modules))} | ${kb(bytes(own))} | ${kb(declarations)} |`,
  )

  console.log(`\n## Consumers (strict, skipLibCheck false, "types": []; tsc median of ${runs})\n`)
  console.log(
    '| setup | usage compiles | misuse rejected on its line | other errors | tsc wall | tsc Total time | instantiations |',
  )
  console.log('|---|---|---|---|---|---|---|')
  for (const setup of SETUPS) {
    const dir = join(work, setup)
    await createConsumer(setup, dir, tarball)
    const clean = await tsc(dir, '--noEmit')
    const { marked, failing, elsewhere } = await misuseErrors(dir, join(work, `${setup}-misuse`))
    const rejected = marked.filter((line) => failing.includes(line)).length
    const walls: number[] = []
    const totals: number[] = []
    let instantiations = ''
    for (let i = 0; i < runs; i++) {
      const started = performance.now()
      const timed = await tsc(dir, '--noEmit', '--extendedDiagnostics')
      walls.push(performance.now() - started)
      totals.push(Number(/Total time:\s+([\d.]+)s/.exec(timed.out)?.[1] ?? Number.NaN) * 1000)
      instantiations = /Instantiations:\s+(\d+)/.exec(timed.out)?.[1] ?? '?'
    }
    const compiles = clean.code === 0 && clean.out === '' ? 'yes' : `no (${clean.out.split('\n')[0]})`
    const unexpected = elsewhere.length + failing.filter((line) => !marked.includes(line)).length
    console.log(
      `| ${setup} | ${compiles} | ${rejected}/${marked.length} | ${unexpected} | ${median(walls).toFixed(0)} ms | ${median(totals).toFixed(0)} ms | ${instantiations} |`,
    )
  }
  const pkg = JSON.parse(readFileSync(join(own, 'package.json'), 'utf8'))
  console.log(`\n${pkg.name}@${pkg.version}, hono ${honoVersion}, ${(await run([tscPath, '--version'], work)).out.trim()}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
