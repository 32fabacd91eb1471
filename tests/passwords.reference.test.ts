import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createBunPasswordHasher } from '../src/users/passwords.bun'
import { needsRehash } from '../src/users/passwords.schemes'
import reference from './fixtures/reference-hashes.json'

/**
 * Hashes made by the reference implementations (tests/fixtures/reference-hashes.json, written by
 * scripts/fixtures/reference-hashes.py: Python's bcrypt, passlib, argon2-cffi, Django) verify with
 * the right password and only with it, on Bun and on Node, and are marked for an upgrade to our
 * argon2id exactly when they are weaker than it.
 */
const root = new URL('..', import.meta.url).pathname
const hashes = reference.hashes
// Changed at the start: bcrypt reads only the first 72 bytes.
const wrong = (password: string) => `!${password}`

describe('verifying reference hashes on Bun', () => {
  const bun = createBunPasswordHasher()
  it.each(hashes.map((entry) => [entry.name, entry] as const))('%s', async (_, entry) => {
    expect(await bun.verify(entry.password, entry.hash)).toBe(true)
    expect(await bun.verify(wrong(entry.password), entry.hash)).toBe(false)
    expect(needsRehash(entry.hash)).toBe(entry.rehash)
  })

  it('reads only the first 72 bytes of a password for bcrypt, as the reference implementations do', async () => {
    const long = hashes.find((entry) => entry.name.includes('90-byte'))!
    expect(await bun.verify(`${long.password.slice(0, 72)}anything else`, long.hash)).toBe(true)
    expect(await bun.verify(long.password.slice(0, 71), long.hash)).toBe(false)
  })

  it('never matches a bcrypt hash with a password holding a NUL', async () => {
    const short = hashes.find((entry) => entry.name === 'bcrypt $2a$ cost 4')!
    expect(await bun.verify(`${short.password}\u0000tail`, short.hash)).toBe(false)
  })

  it('keeps our own argon2id hashes as they are', async () => {
    expect(needsRehash(await bun.hash('made here'))).toBe(false)
  })
})

describe('verifying reference hashes on Node', () => {
  // The Node hasher, bundled as the Node entry is (packages external), run by plain `node`.
  const work = join(root, '.cache', `node-hasher-${crypto.randomUUID().slice(0, 8)}`)
  let results: { name: string; right: boolean; wrong: boolean }[] = []

  beforeAll(async () => {
    mkdirSync(work, { recursive: true })
    const built = await Bun.build({
      entrypoints: [join(root, 'src/users/passwords.node.ts')],
      outdir: work,
      target: 'node',
      format: 'esm',
      packages: 'external',
    })
    if (!built.success) throw new Error(built.logs.join('\n'))
    const script = `
      import { createNodePasswordHasher } from ${JSON.stringify(join(work, 'passwords.node.js'))}
      const hasher = createNodePasswordHasher()
      const input = JSON.parse(process.argv[1])
      const out = []
      for (const e of input) out.push({ name: e.name, right: await hasher.verify(e.password, e.hash), wrong: await hasher.verify(e.wrong, e.hash) })
      console.log(JSON.stringify(out))`
    const input = JSON.stringify(hashes.map((e) => ({ ...e, wrong: wrong(e.password) })))
    const proc = Bun.spawn(['node', '--input-type=module', '-e', script, input], { cwd: root, stdout: 'pipe', stderr: 'inherit' })
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited])
    if (code !== 0) throw new Error(`node exited ${code}`)
    results = JSON.parse(stdout)
  }, 60_000)

  afterAll(() => rmSync(work, { recursive: true, force: true }))

  it.each(hashes.map((entry) => [entry.name] as const))('%s', (name) => {
    expect(results.find((result) => result.name === name)).toEqual({ name, right: true, wrong: false })
  })
})
