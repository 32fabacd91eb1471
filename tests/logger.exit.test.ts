import { describe, expect, it } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * The request log is written once per turn of the event loop (src/logger.ts, standardOutput): a
 * process that ends, cleanly or not, must still write every line it logged. Each case logs 2000
 * lines and ends in the same turn, so all of them are pending when it goes.
 */

const root = join(import.meta.dir, '..')
const fixture = join(import.meta.dir, 'fixtures', 'log-then-end.ts')

async function run(ending: string): Promise<{ ids: string[]; code: number; lines: string[] }> {
  const proc = Bun.spawn(['bun', fixture, ending], { cwd: root, stdout: 'pipe', stderr: 'pipe' })
  if (ending === 'sigterm') {
    // Signalled once it says it is ready (its handlers are installed by then).
    const reader = proc.stdout.getReader()
    let seen = ''
    while (!seen.includes('"msg":"ready"')) {
      const { done, value } = await reader.read()
      if (done) break
      seen += new TextDecoder().decode(value)
    }
    proc.kill('SIGTERM')
    let rest = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest += new TextDecoder().decode(value)
    }
    return parse(seen + rest, await proc.exited)
  }
  return parse(await new Response(proc.stdout).text(), await proc.exited)
}

function parse(output: string, code: number) {
  const lines = output.split('\n').filter((line) => line !== '')
  const ids = lines.map((line) => (JSON.parse(line) as { requestId?: string }).requestId).filter((id) => id !== undefined)
  return { ids, code, lines }
}

describe('the request log on standard output', () => {
  it.each([
    ['process.exit', 'exit', 0],
    ['a SIGTERM shutdown', 'sigterm', 0],
    ['an uncaught exception', 'throw', 1],
    ['an unhandled rejection', 'reject', 1],
  ])('writes every line, whole and in order, when the process ends by %s', async (_, ending, exitCode) => {
    const { ids, code, lines } = await run(ending as string)
    expect(code).toBe(exitCode as number)
    expect(ids).toEqual(Array.from({ length: 2000 }, (_, i) => `${ending}-${i}`))
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('level')
  })

  it('keeps the event loop turning while nobody reads it (lines wait in memory), and writes every line at exit', async () => {
    // The fixture's standard output goes into a pipe that a shell does not read until the gate
    // file exists: like a blocking container log driver that has stalled.
    const gate = join(mkdtempSync(join(tmpdir(), 'slow-reader-')), 'open')
    const reader = `while [ ! -e '${gate}' ]; do sleep 0.05; done; cat`
    const proc = Bun.spawn(['bash', '-c', `bun '${fixture}' slow-reader | { ${reader}; }`], {
      cwd: root,
      stdout: 'pipe',
      stderr: 'pipe',
    })
    // It says on standard error once it has logged all 10,000 lines (about 2 MB; a pipe holds 64 KB):
    // with a write that waits for the pipe it cannot get there before the gate opens.
    const stderr = proc.stderr.getReader()
    let said = ''
    const logged = (async () => {
      while (!said.includes('all logged')) {
        const { done, value } = await stderr.read()
        if (done) return false
        said += new TextDecoder().decode(value)
      }
      return true
    })()
    const stuck = new Promise<false>((resolve) => setTimeout(() => resolve(false), 20_000).unref())
    const progressed = await Promise.race([logged, stuck])
    writeFileSync(gate, '')
    const output = await new Response(proc.stdout).text()
    const code = await proc.exited
    expect(progressed).toBe(true)
    expect(code).toBe(0)
    expect(parse(output, code).ids).toEqual(Array.from({ length: 10_000 }, (_, i) => `slow-${i}`))
  }, 60_000)
})
