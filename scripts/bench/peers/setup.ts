/**
 * Installs the benchmark's peer implementations on demand and says how to start them. Each
 * `ensure…` is idempotent and cached: the Express peer's node_modules are installed by `npm ci` next
 * to its lock file and reused while the lock file is unchanged; the Flask peer gets a virtualenv
 * under the user's cache folder, keyed by a hash of requirements.txt and the Python version.
 *
 * Both returned commands start a server that reads PORT (listens on 127.0.0.1:PORT), MONGODB_URI
 * and MONGODB_DB, answers GET /healthz, and serves the users endpoints on the collection `users`.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

const peersDir = new URL('.', import.meta.url).pathname
const expressDir = join(peersDir, 'express')
const flaskDir = join(peersDir, 'flask')

const sha256 = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex')

/** Runs a command to completion with its output on our stderr (progress for a human); throws on failure. */
async function run(command: string[], cwd: string): Promise<void> {
  const proc = Bun.spawn(command, { cwd, stdin: 'ignore', stdout: 'inherit', stderr: 'inherit' })
  if ((await proc.exited) !== 0) throw new Error(`${command.join(' ')} failed in ${cwd} (exit ${proc.exitCode})`)
}

function requireTool(name: string, hint: string): string {
  const path = Bun.which(name)
  if (!path) throw new Error(`${name} is not installed: ${hint}`)
  return path
}

/** Express 5 + Mongoose 9 on Node (20.19 or later): `npm ci` from the committed lock file. */
export async function ensureExpressPeer(): Promise<string[]> {
  const node = requireTool('node', 'the Express peer needs Node.js 20.19 or later')
  const version = Bun.spawnSync([node, '--version']).stdout.toString().trim()
  const [major = 0, minor = 0] = version.slice(1).split('.').map(Number)
  if (major < 20 || (major === 20 && minor < 19))
    throw new Error(`the Express peer needs Node.js 20.19 or later, found ${version}`)
  const npm = requireTool('npm', 'it comes with Node.js')
  const stamp = sha256(readFileSync(join(expressDir, 'package-lock.json'), 'utf8'))
  const marker = join(expressDir, 'node_modules', '.bench-installed')
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== stamp) {
    console.error('Installing the Express peer (npm ci)...')
    // No package of the peer needs an install script (@node-rs/argon2 ships prebuilt binaries).
    await run([npm, 'ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], expressDir)
    writeFileSync(marker, stamp)
  }
  return [node, join(expressDir, 'server.mjs')]
}

/** Flask + MongoEngine under gunicorn, from PyPI into a cached virtualenv. */
export async function ensureFlaskPeer(): Promise<string[]> {
  const python = requireTool('python3', 'the Flask peer needs Python 3.10 or later with the venv module')
  const pythonVersion = Bun.spawnSync([python, '--version']).stdout.toString().trim()
  const requirements = join(flaskDir, 'requirements.txt')
  const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  // The Python version is in the key too: a virtualenv belongs to the interpreter that made it.
  const venv = join(
    cacheRoot,
    'users-service',
    `bench-flask-${sha256(readFileSync(requirements, 'utf8'), pythonVersion).slice(0, 16)}`,
  )
  const marker = join(venv, '.installed')
  if (!existsSync(marker)) {
    console.error(`Installing the Flask peer into ${venv} (python -m venv, pip install)...`)
    rmSync(venv, { recursive: true, force: true })
    mkdirSync(join(cacheRoot, 'users-service'), { recursive: true })
    await run([python, '-m', 'venv', venv], flaskDir)
    await run(
      [join(venv, 'bin', 'pip'), 'install', '--quiet', '--disable-pip-version-check', '--require-virtualenv', '-r', requirements],
      flaskDir,
    )
    writeFileSync(marker, `${pythonVersion}\n`)
  }
  // python -B: no __pycache__ folders written into the checkout.
  return [
    join(venv, 'bin', 'python'),
    '-B',
    '-m',
    'gunicorn',
    '--config',
    join(flaskDir, 'gunicorn.conf.py'),
    '--chdir',
    flaskDir,
    'app:app',
  ]
}
