import { describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { writeFully } from '../src/logger'

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
    const seen = await readUntil(reader, '"msg":"ready"')
    proc.kill('SIGTERM')
    const rest = await readUntil(reader)
    return parse(seen + rest, await proc.exited)
  }
  // A reader that starts late: the writer meets a full pipe first (partial writes, EAGAIN).
  if (ending === 'burst') await Bun.sleep(300)
  return parse(await new Response(proc.stdout).text(), await proc.exited)
}

/** What `reader` gives until its text holds `marker` (or, without one, until it ends). */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, marker?: string): Promise<string> {
  let text = ''
  while (marker === undefined || !text.includes(marker)) {
    const { done, value } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  return text
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

  it('writes every line, whole and in order, past a full pipe whose reader starts late', async () => {
    const { ids, code } = await run('burst')
    expect(code).toBe(0)
    expect(ids).toEqual(Array.from({ length: 20_000 }, (_, i) => `burst-${i}`))
  })
})

describe('the request log when its reader goes away', () => {
  it('drops the lines it can no longer write and keeps running (EPIPE is not a crash)', async () => {
    const proc = Bun.spawn(['bun', fixture, 'reader-gone'], { cwd: root, stdout: 'pipe', stderr: 'pipe' })
    const reader = proc.stdout.getReader()
    await readUntil(reader, '"msg":"ready"')
    await reader.cancel()
    const code = await proc.exited
    expect(await new Response(proc.stderr).text()).not.toContain('EPIPE')
    expect(code).toBe(0)
  })
})

describe('writeFully', () => {
  it('writes everything, in order, through partial writes and a full pipe (EAGAIN)', () => {
    const text = Array.from({ length: 500 }, (_, i) => `{"requestId":"r-${i}","msg":"é✓"}\n`).join('')
    const chunks: Buffer[] = []
    let calls = 0
    // A reader that takes at most 100 bytes at a time, and every third call finds the pipe full.
    writeFully(1, text, (_fd, bytes) => {
      calls++
      if (calls % 3 === 0) throw Object.assign(new Error('EAGAIN: resource temporarily unavailable'), { code: 'EAGAIN' })
      const taken = bytes.subarray(0, 100)
      chunks.push(Buffer.from(taken))
      return taken.length
    })
    expect(Buffer.concat(chunks).toString()).toBe(text)
    expect(calls).toBeGreaterThan(Buffer.byteLength(text) / 100)
  })

  it('passes on any other error (a closed pipe)', () => {
    const closed = () => {
      throw Object.assign(new Error('EPIPE: broken pipe'), { code: 'EPIPE' })
    }
    expect(() => writeFully(1, 'line\n', closed)).toThrow('EPIPE')
  })
})
