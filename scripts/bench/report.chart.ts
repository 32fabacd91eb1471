/** The SVG chart of a run (bench-results/ and docs/performance.svg): grouped bars per workload. */
import { CONTENDERS, type ContenderId } from './contenders'
import { duration, type Row, rate } from './report'
import type { WorkloadId } from './workloads'

const COLORS: Record<ContenderId, string> = {
  floor: '#7f8c8d',
  service: '#2e86de',
  'service-before': '#a29bfe',
  'service-node': '#54a0ff',
  express: '#e67e22',
  flask: '#c0392b',
  'nodb-raw': '#95a5a6',
  'nodb-service': '#10ac84',
}

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * Grouped bars, one group per workload and one bar per contender, in two panels: requests/s, and
 * the contender's own CPU µs per request (the database's, far larger, is written under each group
 * rather than drawn, so it does not flatten the contenders' differences). Each group has its own
 * scale (a list page is a thousand times slower than a GET), so bars compare contenders within a
 * workload; the numbers on them give the absolute figures.
 */
export function chart(rows: Row[], caption: string): string {
  const groups = [...new Set(rows.map((r) => `${r.workload}|${CONTENDERS[r.contender].group}`))].map((key) => {
    const [workload, group] = key.split('|') as [WorkloadId, 'db' | 'nodb']
    return { workload, group, rows: rows.filter((r) => r.workload === workload && CONTENDERS[r.contender].group === group) }
  })
  const bar = 30
  const gap = 40
  const panelHeight = 180
  const left = 20
  const widths = groups.map((g) => Math.max(g.rows.length * bar, 110) + gap)
  const width = Math.max(680, left * 2 + widths.reduce((a, b) => a + b, 0))
  const contenders = [...new Set(rows.map((r) => r.contender))]
  const panelGap = 90
  const legendTop = 50 + 2 * (panelHeight + panelGap) - 20
  const height = legendTop + contenders.length * 18 + 30
  const parts: string[] = []
  const panel = (top: number, title: string, value: (r: Row) => number, note?: (rows: Row[]) => string) => {
    parts.push(`<text x="${left}" y="${top - 28}" font-size="14" font-weight="bold">${escapeXml(title)}</text>`)
    let x = left
    groups.forEach((g, gi) => {
      const max = Math.max(...g.rows.map(value), 1e-9)
      g.rows.forEach((r, i) => {
        const bx = x + i * bar
        const h = (value(r) / max) * panelHeight
        const y = top + panelHeight - h
        parts.push(
          `<rect x="${bx}" y="${y.toFixed(1)}" width="${bar - 4}" height="${h.toFixed(1)}" fill="${COLORS[r.contender]}"/>`,
        )
        parts.push(
          `<text x="${bx + (bar - 4) / 2}" y="${(y - 4).toFixed(1)}" font-size="9" text-anchor="middle">${rate(value(r))}</text>`,
        )
      })
      const label = g.group === 'nodb' ? `${g.workload} (no DB)` : g.workload
      const middle = x + (g.rows.length * bar) / 2
      parts.push(
        `<text x="${middle}" y="${top + panelHeight + 16}" font-size="11" text-anchor="middle">${escapeXml(label)}</text>`,
      )
      const extra = note?.(g.rows)
      if (extra)
        parts.push(
          `<text x="${middle}" y="${top + panelHeight + 30}" font-size="9" fill="#555" text-anchor="middle">${escapeXml(extra)}</text>`,
        )
      x += widths[gi] ?? 0
    })
    parts.push(`<line x1="${left}" x2="${x - gap}" y1="${top + panelHeight}" y2="${top + panelHeight}" stroke="#333"/>`)
  }
  panel(50, 'Requests/s (median; higher is better)', (r) => r.rps)
  panel(
    50 + panelHeight + panelGap,
    "CPU µs per request, the contender's process tree (lower is better)",
    (r) => r.cpuUsPerRequest,
    (group) => {
      const db = group.map((r) => r.dbCpuUsPerRequest).filter((v): v is number => v !== null)
      return db.length ? `DB ${duration(Math.min(...db))} – ${duration(Math.max(...db))}/req` : ''
    },
  )
  contenders.forEach((c, i) => {
    const y = legendTop + i * 18
    parts.push(`<rect x="${left}" y="${y - 10}" width="12" height="12" fill="${COLORS[c]}"/>`)
    parts.push(`<text x="${left + 18}" y="${y}" font-size="12">${escapeXml(CONTENDERS[c].label)}</text>`)
  })
  parts.push(`<text x="${left}" y="${height - 8}" font-size="10" fill="#555">${escapeXml(caption)}</text>`)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${parts.join('\n')}
</svg>
`
}
