import { describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../src/config'

/**
 * The container setups the docs show, started as written: the environment each `docker run` line
 * and the compose file give the image, plus the image's own (`ENV` in the Dockerfile), must pass
 * the production configuration (an operator review found all four refused: no METRICS_TOKEN).
 * Values that the docs take from the operator's shell or `.env` come from `OPERATOR`.
 */
const root = join(import.meta.dir, '..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')

const OPERATOR: Record<string, string> = {
  AUTH_API_KEYS: JSON.stringify([{ name: 'billing', sha256: 'b'.repeat(64), scopes: ['users:read'] }]),
  METRICS_TOKEN: 'm'.repeat(64),
}

/** The image's environment: every `ENV` of the Dockerfile's last stage. */
function imageEnv(): Record<string, string> {
  const stages = read('Dockerfile').split(/^FROM /m)
  const release = (stages.at(-1) ?? '').replace(/\\\n\s*/g, ' ')
  const env: Record<string, string> = {}
  for (const line of release.split('\n').filter((text) => text.startsWith('ENV '))) {
    for (const [, name, value] of line.slice(4).matchAll(/(\w+)=("[^"]*"|\S+)/g))
      env[name as string] = (value as string).replace(/"/g, '')
  }
  return env
}

/** The `docker run` commands of the image in a file (backslash continuations joined). */
function dockerRuns(text: string): string[] {
  const joined = text.replace(/\\\n\s*/g, ' ')
  return [...joined.matchAll(/docker run [^\n`]*?\busers-service\b/g)].map((match) => match[0])
}

/** The environment a `docker run` gives: `-e NAME=value`, or `-e NAME` from the operator's shell. */
function runEnv(command: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [, name, value] of command.matchAll(/-e (\w+)(?:=('[^']*'|\S+))?/g)) {
    env[name as string] = value === undefined ? (OPERATOR[name as string] ?? '') : value.replace(/'/g, '')
  }
  return env
}

describe('the documented container setups', () => {
  const sources = {
    'README.md': read('README.md'),
    'docs/deployment.md': read('docs/deployment.md'),
    Dockerfile: read('Dockerfile'),
  }

  for (const [file, text] of Object.entries(sources)) {
    it(`every docker run in ${file} starts in production`, () => {
      const runs = dockerRuns(text)
      expect(runs.length).toBeGreaterThan(0)
      for (const command of runs) {
        expect(() => loadConfig({ ...imageEnv(), ...runEnv(command) }), command).not.toThrow()
        expect(command).toContain('--stop-timeout')
      }
    })
  }

  it('the compose file of docs/deployment.md starts in production, with a grace period above the shutdown', () => {
    const blocks = [...sources['docs/deployment.md'].matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')
    const yaml = blocks.find((block) => block.includes('services:')) ?? ''
    const compose = Bun.YAML.parse(yaml) as {
      services: { users: { environment: Record<string, string>; stop_grace_period?: string } }
    }
    const users = compose.services.users
    const env = Object.fromEntries(
      Object.entries(users.environment).map(([name, value]) => [
        name,
        String(value).replace(/\$\{(\w+)\}/g, (_, from: string) => OPERATOR[from] ?? ''),
      ]),
    )
    const config = loadConfig({ ...imageEnv(), ...env })
    expect(config.env).toBe('production')
    const graceSeconds = Number.parseInt(users.stop_grace_period ?? '10', 10)
    // Docker's default is 10 s; the shutdown may take SHUTDOWN_DELAY_MS and twice SHUTDOWN_TIMEOUT_MS.
    expect(graceSeconds * 1000).toBeGreaterThan(config.shutdownDelayMs + 2 * config.shutdownTimeoutMs)
  })
})
