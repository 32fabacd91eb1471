/**
 * SCIM compliance (`bun run reliability:scim`): scim2-tester (PyPI, python-scim; nobody here wrote
 * it) against the service as a real process, on the embedded database, with auth on.
 *
 * Every check scim2-tester runs for the User resource type and the discovery endpoints is one
 * check here: it passes when scim2-tester says SUCCESS, COMPLIANT, ACCEPTABLE or DEVIATION, or
 * SKIPPED for a reason listed in EXPECTED_SKIPS (scripts/scim/README.md says why each is
 * expected); ERROR, CRITICAL and any other skip fail. Also checked: the `scim` key reaches nothing
 * outside /scim/v2, a key without `scim` gets a SCIM 403 there, the service logged no unhandled
 * error and still answers.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensureScim2Tester, SCIM2_TESTER_VERSION } from '../scim/run-tester'
import { createReport, info, root, section, startDatabase, startService, tempDir } from './lib'

/** Checks scim2-tester may skip, and the reason it must give (scripts/scim/README.md, "Skipped checks"). */
const EXPECTED_SKIPS: Record<string, RegExp> = {
  // POST /.search is not offered: the service answers 501, which scim2-tester reports so.
  search_with_attributes: /not supported/i,
}

type Check = { status: string; resource_type: string | null; title: string; reason: string }
const PASSING = new Set(['SUCCESS', 'COMPLIANT', 'ACCEPTABLE', 'DEVIATION'])

const report = createReport('scim2-tester')
const work = tempDir('reliability-scim-')
const key = (name: string, scopes: string[]) => {
  const token = `usk_${randomBytes(32).toString('base64url')}`
  return { token, entry: { name, sha256: createHash('sha256').update(token).digest('hex'), scopes } }
}
const scim = key('identity-provider', ['scim'])
const v1 = key('v1-admin', ['users:read', 'users:write', 'users:admin'])

const python = ensureScim2Tester()
const db = await startDatabase(join(work, 'data'))
const service = await startService(db.uri, {
  MONGODB_DB: 'scim',
  AUTH_API_KEYS: JSON.stringify([scim.entry, v1.entry]),
})
info(`database ${db.uri}; service ${service.url}; scim2-tester ${SCIM2_TESTER_VERSION}`)
const base = `${service.url}/scim/v2`
const get = (url: string, token: string) => fetch(url, { headers: { authorization: `Bearer ${token}` } })

section('the scope scim: /scim/v2 only')
{
  const own = await get(`${base}/ServiceProviderConfig`, scim.token)
  report.check('a scim key reads /scim/v2', own.status === 200, `${own.status}`)
  const elsewhere = await get(`${service.url}/v1/users`, scim.token)
  report.check('a scim key is refused on /v1 (403)', elsewhere.status === 403, `${elsewhere.status}`)
  const other = await get(`${base}/Users`, v1.token)
  const body = (await other.json().catch(() => ({}))) as { schemas?: string[]; status?: string }
  report.check(
    'a key without scim gets a SCIM 403 on /scim/v2',
    other.status === 403 && other.headers.get('content-type') === 'application/scim+json' && body.status === '403',
    `${other.status} ${other.headers.get('content-type')}`,
  )
}

section(`scim2-tester ${SCIM2_TESTER_VERSION}: User and the discovery endpoints`)
const results = join(work, 'checks.json')
const run = Bun.spawn([python, join(root, 'scripts/scim/tester.py'), base, '--json', results], {
  stdout: 'inherit',
  stderr: 'inherit',
  env: { ...process.env, SCIM_TOKEN: scim.token },
})
await run.exited
const checks = JSON.parse(readFileSync(results, 'utf8')) as Check[]
report.check('scim2-tester ran checks', checks.length > 0, `${checks.length}`)
const tally = { passed: 0, skipped: 0, errors: 0 }
for (const check of checks) {
  const label = `${check.resource_type ?? '-'} ${check.title}`
  const said = check.reason.length > 100 ? `${check.reason.slice(0, 100)}…` : check.reason
  if (check.status === 'SKIPPED') {
    tally.skipped++
    const expected = EXPECTED_SKIPS[check.title]?.test(check.reason) ?? false
    report.check(`${label}: skipped (${said})`, expected, expected ? '' : 'not an expected skip: see scripts/scim/README.md')
  } else {
    const ok = PASSING.has(check.status)
    if (ok) tally.passed++
    else tally.errors++
    report.check(ok ? `${label}: ${said}` : label, ok, ok ? '' : `${check.status}: ${check.reason}`)
  }
}
report.figure('scim2-tester checks passed', tally.passed)
report.figure('scim2-tester checks skipped', tally.skipped)
report.figure('scim2-tester checks in error', tally.errors)

section('the service afterwards')
const health = await fetch(`${service.url}/healthz`).catch(() => undefined)
report.check('the service still answers', health?.status === 200)
const unhandled = service.errorLines.filter((line) => line.includes('unhandled error'))
report.check('no unhandled error was logged', unhandled.length === 0, unhandled.slice(0, 3).join('\n'))
await service.stop()
await db.stop()
report.finish()
