/**
 * `bun run reliability`: every reliability step in sequence, each as its own process, then a
 * summary. A step is one line of STEPS; a failing step does not stop the later ones, and the run
 * exits non-zero if any failed. The last line, `RELIABILITY-TOTAL {"passed":N,"failed":N}`, counts the
 * checks of every step for .ci/run. Flags after `--` go to the steps marked `flags` (the soak:
 * `bun run reliability -- --long`).
 */
const STEPS: { name: string; command: string[]; flags?: true }[] = [
  { name: 'schemathesis', command: ['bun', 'scripts/reliability/schemathesis.ts'] },
  { name: 'scim2-tester', command: ['bun', 'scripts/reliability/scim-tester.ts'] },
  { name: 'faults', command: ['bun', 'scripts/reliability/faults.ts'] },
  { name: 'durability', command: ['bun', 'scripts/reliability/durability.ts'] },
  { name: 'events', command: ['bun', 'scripts/reliability/events.ts'] },
  { name: 'soak', command: ['bun', 'scripts/reliability/soak.ts'], flags: true },
  { name: 'webhooks', command: ['bun', 'scripts/reliability/webhooks.ts'] },
]

const root = new URL('../..', import.meta.url).pathname
const extra = process.argv.slice(2)
const results: {
  name: string
  ok: boolean
  seconds: number
  summary?: { checks: number; failures: string[]; figures: Record<string, unknown> }
}[] = []

for (const step of STEPS) {
  const command = [...step.command, ...(step.flags ? extra : [])]
  console.log(`\n######## ${step.name}: ${command.join(' ')}`)
  const started = performance.now()
  const proc = Bun.spawn(command, { cwd: root, stdout: 'pipe', stderr: 'inherit' })
  let summary: (typeof results)[number]['summary']
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const chunk of proc.stdout) {
    const text = decoder.decode(chunk, { stream: true })
    process.stdout.write(text)
    buffered += text
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) if (line.startsWith('RELIABILITY-SUMMARY ')) summary = JSON.parse(line.slice(20))
  }
  const code = await proc.exited
  results.push({ name: step.name, ok: code === 0, seconds: (performance.now() - started) / 1000, summary })
}

console.log('\n######## reliability summary')
for (const r of results) {
  const checks = r.summary ? `${r.summary.checks - r.summary.failures.length}/${r.summary.checks} checks` : 'no summary'
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(12)} ${r.seconds.toFixed(1).padStart(6)} s  ${checks}`)
  for (const failure of r.summary?.failures ?? []) console.log(`       FAIL ${failure}`)
  for (const [label, value] of Object.entries(r.summary?.figures ?? {})) console.log(`       ${label}: ${value}`)
}
// Totals for .ci/run's last line: every check of every step; a step that failed without a
// summary (it crashed) or exited non-zero with none of its checks failing counts as one failure.
let passed = 0
let failed = 0
for (const r of results) {
  const failures = r.summary?.failures.length ?? 0
  passed += (r.summary?.checks ?? 0) - failures
  failed += failures + (!r.ok && failures === 0 ? 1 : 0)
}
console.log(`RELIABILITY-TOTAL ${JSON.stringify({ passed, failed })}`)
process.exit(results.every((r) => r.ok) ? 0 : 1)
