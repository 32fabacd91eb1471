import { describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { MongoClient } from 'mongodb'
import pkg from '../package.json' with { type: 'json' }
import { loadConfig } from '../src/config'

/** The developer-facing commands of issue 14's paper cuts: what `bun run ...` prints. */
const root = new URL('..', import.meta.url).pathname

function run(args: string[], env: Record<string, string> = {}) {
  const result = Bun.spawnSync(['bun', ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env } })
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() }
}

describe('bun run apikey', () => {
  it('prints AUTH_API_KEYS as a JSON array ready to paste, holding the SHA-256 of the key only', () => {
    const { code, stdout } = run(['scripts/apikey.ts', 'billing', 'users:read', 'users:write'])
    expect(code).toBe(0)
    const key = /: (usk_[\w-]+)$/m.exec(stdout)?.[1] ?? ''
    const line = stdout.split('\n').find((l) => l.startsWith('AUTH_API_KEYS=')) ?? ''
    const value = /^AUTH_API_KEYS='(.*)'$/.exec(line)?.[1] ?? ''
    const keys = loadConfig({ AUTH_API_KEYS: value }).auth.apiKeys
    expect(keys).toEqual([
      { name: 'billing', sha256: createHash('sha256').update(key).digest('hex'), scopes: ['users:read', 'users:write'] },
    ])
    expect(line).not.toContain(key)
  })
})

describe('bun run help', () => {
  it('lists every script of package.json with a one-line description', () => {
    const { code, stdout } = run(['scripts/help.ts'])
    expect(code).toBe(0)
    const descriptions: Record<string, string> = pkg['scripts-info']
    expect(Object.keys(descriptions).sort()).toEqual(Object.keys(pkg.scripts).sort())
    for (const [name, description] of Object.entries(descriptions)) {
      expect(description.length).toBeGreaterThan(10)
      expect(description).not.toContain('\n')
      expect(stdout).toMatch(
        new RegExp(
          `^  ${name.replace(/[:.]/g, '\\$&')} +${description.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
          'm',
        ),
      )
    }
  })
})

describe('pretty logs', () => {
  it('carry no colour codes when stdout is not a terminal', async () => {
    const dbName = `test_tooling_${crypto.randomUUID().slice(0, 8)}`
    const proc = Bun.spawn(['bun', 'src/index.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'development',
        LOG_FORMAT: 'pretty',
        PORT: '0',
        MONGODB_URI: globalThis.testMongoUri,
        MONGODB_DB: dbName,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      let text = ''
      const decoder = new TextDecoder()
      for await (const chunk of proc.stdout) {
        text += decoder.decode(chunk, { stream: true })
        if (text.includes('users-service listening')) break
      }
      expect(text).toContain('users-service listening')
      expect(text).not.toContain('\x1b[')
    } finally {
      proc.kill('SIGTERM')
      await proc.exited
      const client = new MongoClient(globalThis.testMongoUri)
      await client.db(dbName).dropDatabase()
      await client.close()
    }
  }, 30_000)
})
