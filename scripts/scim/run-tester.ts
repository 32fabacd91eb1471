/**
 * SCIM compliance check with scim2-tester (PyPI, python-scim), a tester nobody here wrote:
 * `SCIM_TOKEN=<token> bun scripts/scim/run-tester.ts <base URL> [-- tester.py options]`,
 * e.g. `http://127.0.0.1:3000/scim/v2`.
 *
 * scim2-tester and its pinned dependencies come from PyPI into a cached virtualenv
 * (~/.cache/users-service/scim2-tester-<version>, as schemathesis.ts does), installed on first use.
 * tester.py runs `check_server` on the User resource type and the discovery endpoints and prints
 * every check; this exits with its status: non-zero on any ERROR, SKIPPED allowed with its reason
 * printed (README.md beside this file lists the expected ones). The server is not started here:
 * scripts/reliability/scim-tester.ts (`bun run reliability:scim`) starts the embedded database
 * and the service, runs this, and judges every check.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

export const SCIM2_TESTER_VERSION = '0.5.2'
/** Pinned so a new release of a dependency cannot change the checks between two runs. */
const REQUIREMENTS = [
  `scim2-tester[httpx2]==${SCIM2_TESTER_VERSION}`,
  'scim2-client[httpx2]==0.13.2',
  'scim2-models==0.12.3',
  'httpx2==2.16.2',
]
const here = new URL('.', import.meta.url).pathname

/** The virtualenv's python, installing scim2-tester into it on first use. */
export function ensureScim2Tester(): string {
  const venv = join(
    process.env.XDG_CACHE_HOME || join(homedir(), '.cache'),
    'users-service',
    `scim2-tester-${SCIM2_TESTER_VERSION}`,
  )
  // Written last, so an interrupted install is redone rather than half-used.
  const marker = join(venv, '.installed')
  if (!existsSync(marker)) {
    console.error(`Installing scim2-tester ${SCIM2_TESTER_VERSION} from PyPI into ${venv}...`)
    for (const [command, ...args] of [
      ['python3', '-m', 'venv', venv],
      [join(venv, 'bin', 'pip'), 'install', '--quiet', ...REQUIREMENTS],
    ]) {
      if (spawnSync(command!, args, { stdio: 'inherit' }).status !== 0) throw new Error(`${command} ${args.join(' ')} failed`)
    }
    writeFileSync(marker, `${REQUIREMENTS.join('\n')}\n`)
  }
  return join(venv, 'bin', 'python')
}

/** Runs tester.py against `baseUrl` with `token`; resolves to its exit code. */
async function runScim2Tester(baseUrl: string, token: string, extraArgs: string[] = []): Promise<number> {
  const python = ensureScim2Tester()
  const run = Bun.spawn([python, join(here, 'tester.py'), baseUrl, ...extraArgs], {
    stdout: 'inherit',
    stderr: 'inherit',
    env: { ...process.env, SCIM_TOKEN: token },
  })
  return run.exited
}

if (import.meta.main) {
  const [baseUrl, ...rest] = process.argv.slice(2).filter((arg) => arg !== '--')
  const token = process.env.SCIM_TOKEN
  if (!baseUrl || !token) {
    console.error('usage: SCIM_TOKEN=<bearer token> bun scripts/scim/run-tester.ts <SCIM base URL> [tester.py options]')
    process.exit(2)
  }
  process.exit(await runScim2Tester(baseUrl, token, rest))
}
