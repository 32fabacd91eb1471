/**
 * The import's terminal output: a progress bar on stderr (count, rate, ETA) and the summary table.
 * Hand-written rather than a progress-bar package: the import needs one line that redraws on a
 * terminal and a plain line every few seconds when stderr is a file or a CI log, which is less
 * code than adapting a package to the second case.
 */

export type ProgressStream = { write(text: string): unknown; isTTY?: boolean }

export type Progress = { tick(count: number): void; finish(): void }

const BAR_WIDTH = 24

/** A bar for `total` items (an estimate: the source may change meanwhile). */
export function createProgress(
  label: string,
  total: number,
  stream: ProgressStream,
  options: { now?: () => number; intervalMs?: number } = {},
): Progress {
  const now = options.now ?? (() => performance.now())
  // Redraw often on a terminal; a log gets a line every 5 s, not thousands.
  const intervalMs = options.intervalMs ?? (stream.isTTY ? 100 : 5000)
  const started = now()
  let done = 0
  let lastDrawn = Number.NEGATIVE_INFINITY

  const line = () => {
    const seconds = (now() - started) / 1000
    const rate = seconds > 0 ? done / seconds : 0
    const fraction = total > 0 ? Math.min(1, done / total) : 1
    const filled = Math.round(fraction * BAR_WIDTH)
    const eta = rate > 0 && total > done ? formatDuration(((total - done) / rate) * 1000) : '-'
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${formatCount(done)}/${formatCount(total)} ${Math.round(fraction * 100)}% ${formatCount(Math.round(rate))}/s ETA ${eta}`
  }
  const draw = (final: boolean) => {
    lastDrawn = now()
    stream.write(stream.isTTY ? `\r\x1b[2K${line()}${final ? '\n' : ''}` : `${line()}\n`)
  }
  return {
    tick(count) {
      done += count
      if (now() - lastDrawn >= intervalMs) draw(false)
    },
    finish: () => draw(true),
  }
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const seconds = ms / 1000
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** Two left/right-aligned columns, boxed with plain ASCII so it survives any log viewer. */
export function formatTable(title: string, rows: [string, string][]): string {
  const left = Math.max(title.length, ...rows.map(([name]) => name.length))
  const right = Math.max(...rows.map(([, value]) => value.length))
  const rule = `+${'-'.repeat(left + 2)}+${'-'.repeat(right + 2)}+`
  const row = (name: string, value: string) => `| ${name.padEnd(left)} | ${value.padStart(right)} |`
  return [rule, `| ${title.padEnd(left + right + 3)} |`, rule, ...rows.map(([name, value]) => row(name, value)), rule].join('\n')
}
