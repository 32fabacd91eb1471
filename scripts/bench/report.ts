/**
 * Turns the runs into the results: medians and ratios per workload and contender, the issue's
 * targets as pass/fail lines, the table, and the section of docs/performance.md the bench owns
 * (the SVG chart is report.chart.ts's).
 */
import { CONTENDERS, type ContenderId } from './contenders'
import { median } from './lib'
import { WORKLOADS, type WorkloadId } from './workloads'
import type { LoadResult } from './wrk'

export type Runs = { workload: WorkloadId; contender: ContenderId; runs: LoadResult[]; peakRssMb: number }

export type Row = {
  workload: WorkloadId
  contender: ContenderId
  rps: number
  cpuUsPerRequest: number
  dbCpuUsPerRequest: number | null
  p50Ms: number
  p99Ms: number
  peakRssMb: number
  /** Answers and failures over all rounds. */
  requests: number
  errors: number
  preconditionFailed: number
  /** CPU µs per request of each round, in the order run (the rounds alternate contenders). */
  cpuRounds: number[]
  /** To the baseline of the same group (floor, or raw Bun.serve without a database) in the same workload. */
  rpsRatio: number | null
  cpuRatio: number | null
}

export type Startup = Partial<Record<'service' | 'service-before' | 'service-node', number[]>>

/**
 * Idle cost: CPU ms per second of each contender's process tree over one shared idle spell (all
 * started and settled, no load), and of the database server, which serves all of their idle
 * polling at once. Reported, not judged.
 */
export type Idle = { seconds: number; contenders: Partial<Record<ContenderId, number>>; databaseMsPerSecond?: number }

/** One line per contender (and the database), for the console and for docs/performance.md. */
export function idleLines(idle: Idle): string[] {
  const msPerSecond = (v: number) => `${fixed(v, 1)} ms/s`
  return [
    ...Object.entries(idle.contenders).map(([c, v]) => `${CONTENDERS[c as ContenderId].label}: ${msPerSecond(v)}`),
    ...(idle.databaseMsPerSecond === undefined
      ? []
      : [`the database server (all the DB contenders' idle work at once): ${msPerSecond(idle.databaseMsPerSecond)}`]),
  ]
}

export function summarize(all: Runs[]): Row[] {
  const rows = all.map(({ workload, contender, runs, peakRssMb }) => ({
    workload,
    contender,
    rps: median(runs.map((r) => r.rps)),
    cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
    dbCpuUsPerRequest: CONTENDERS[contender].group === 'db' ? median(runs.map((r) => r.dbCpuUsPerRequest ?? 0)) : null,
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    peakRssMb,
    requests: runs.reduce((sum, r) => sum + r.requests, 0),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    preconditionFailed: runs.reduce((sum, r) => sum + r.preconditionFailed, 0),
    cpuRounds: runs.map((r) => r.cpuUsPerRequest),
  }))
  return rows.map((row) => {
    const group = CONTENDERS[row.contender].group
    const base = rows.find(
      (b) => b.workload === row.workload && CONTENDERS[b.contender].group === group && CONTENDERS[b.contender].baseline,
    )
    return {
      ...row,
      rpsRatio: base ? row.rps / base.rps : null,
      cpuRatio: base ? row.cpuUsPerRequest / base.cpuUsPerRequest : null,
    }
  })
}

export const fixed = (n: number | null, digits = 0) =>
  n === null || !Number.isFinite(n)
    ? '–'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
/** CPU time for a label: µs, or ms once that is shorter. */
export const duration = (us: number) => (us >= 10_000 ? `${fixed(us / 1000)} ms` : `${fixed(us)} µs`)
/** Requests/s: a list page on FerretDB manages about one a second, so small rates keep decimals. */
export const rate = (n: number) => fixed(n, n < 10 ? 2 : 0)

const HEADER = [
  'workload',
  'contender',
  'req/s',
  '× base',
  'CPU µs/req',
  '× base',
  'DB CPU µs/req',
  'p50 ms',
  'p99 ms',
  'peak RSS MB',
  'errors',
]

export function tableRows(rows: Row[]): string[][] {
  return [
    HEADER,
    ...rows.map((r) => [
      r.workload,
      CONTENDERS[r.contender].label,
      rate(r.rps),
      fixed(r.rpsRatio, 2),
      fixed(r.cpuUsPerRequest),
      fixed(r.cpuRatio, 2),
      fixed(r.dbCpuUsPerRequest),
      fixed(r.p50Ms, 1),
      fixed(r.p99Ms, 1),
      fixed(r.peakRssMb),
      r.preconditionFailed ? `${r.errors} (${r.preconditionFailed} × 412)` : String(r.errors),
    ]),
  ]
}

function markdownTable(rows: string[][]): string {
  const [head = [], ...body] = rows
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map((_, i) => (i < 2 ? '---' : '--:'))), ...body.map(line)].join('\n')
}

export type Target = { text: string; status: 'PASS' | 'FAIL' | 'n/a' }

/** The workloads judged against the floor; the list workloads are reported only (FerretDB's full scans dominate them). */
const JUDGED: readonly WorkloadId[] = ['get-by-id', 'get-by-username', 'create', 'patch']

/** Issue 18's targets, each judged from this run's figures (n/a when a contender was not run). */
export function targets(rows: Row[], startup: Startup): Target[] {
  const find = (workload: WorkloadId, contender: ContenderId) =>
    rows.find((r) => r.workload === workload && r.contender === contender)
  const judge = (text: string, value: number | undefined, ok: (v: number) => boolean, show: (v: number) => string): Target =>
    value === undefined || Number.isNaN(value)
      ? { text: `${text}: not measured`, status: 'n/a' }
      : { text: `${text}: ${show(value)}`, status: ok(value) ? 'PASS' : 'FAIL' }
  const times = (v: number) => `${v.toFixed(2)}×`
  const ratio = (a: Row | undefined, b: Row | undefined) => (a && b ? a.cpuUsPerRequest / b.cpuUsPerRequest : undefined)
  /**
   * The same ratio round by round (round i of one against round i of the other: the same spell of
   * the machine), so a verdict a few hundredths from its bound can be read against the spread.
   */
  const spread = (a: Row | undefined, b: Row | undefined): string => {
    if (!a || !b || a.cpuRounds.length < 2 || a.cpuRounds.length !== b.cpuRounds.length) return ''
    const each = a.cpuRounds.map((cpu, i) => cpu / (b.cpuRounds[i] as number))
    return ` (rounds ${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)})`
  }
  /**
   * A CPU ratio judged only when both contenders did the work: CPU per error answer measures
   * something else (the Flask peer answered 500 to every request for a while, and its figures
   * still passed). 412s of a PATCH race are work done, not errors; up to 1 % of requests failing
   * (a wrk timeout on a slow round) is tolerated.
   */
  const compare = (text: string, a: Row | undefined, b: Row | undefined, ok: (v: number) => boolean): Target => {
    const failing = [a, b].find((row) => row && row.errors - row.preconditionFailed > row.requests / 100)
    if (!failing) return judge(text, ratio(a, b), ok, (v) => `${times(v)}${spread(a, b)}`)
    const count = failing.errors - failing.preconditionFailed
    return { text: `${text}: not judged, ${failing.contender} answered ${count} requests with errors`, status: 'FAIL' }
  }
  const out: Target[] = []
  for (const workload of new Set(rows.map((r) => r.workload))) {
    const floor = find(workload, 'floor')
    const service = find(workload, 'service')
    if (!service) continue
    if (!JUDGED.includes(workload)) {
      const value = ratio(service, floor)
      const shown = value === undefined ? 'not measured' : times(value)
      out.push({ text: `${workload}: service CPU/req ${shown} the floor's (reported, not judged)`, status: 'n/a' })
      continue
    }
    out.push(compare(`${workload}: service CPU/req ≤ 1.20× floor`, service, floor, (v) => v <= 1.2))
    for (const [peer, factor] of [
      ['express', 1.5],
      ['flask', 4],
    ] as const) {
      out.push(compare(`${workload}: ${peer} CPU/req ≥ ${factor}× service`, find(workload, peer), service, (v) => v >= factor))
    }
  }
  out.push(
    compare(
      'no DB: production stack CPU/req ≤ 2.5× raw Bun.serve',
      find('get-by-id', 'nodb-service'),
      find('get-by-id', 'nodb-raw'),
      (v) => v <= 2.5,
    ),
  )
  const peak = (contender: ContenderId) => {
    const peaks = rows.filter((r) => r.contender === contender && CONTENDERS[contender].group === 'db').map((r) => r.peakRssMb)
    return peaks.length ? Math.max(...peaks) : undefined
  }
  const floorPeak = peak('floor')
  const servicePeak = peak('service')
  out.push(
    judge(
      'users-service on Bun: peak RSS under load ≤ floor + 20 MB',
      servicePeak !== undefined && floorPeak !== undefined ? servicePeak - floorPeak : undefined,
      (v) => v <= 20,
      (v) => `${servicePeak} MB, the floor's ${floorPeak} MB ${v >= 0 ? '+' : '−'} ${Math.abs(v)} MB`,
    ),
  )
  const starts = startup.service
  out.push(
    judge(
      'users-service on Bun: spawn to first 200 on /healthz ≤ 150 ms (the container command, database up)',
      starts?.length ? median(starts) : undefined,
      (v) => v <= 150,
      (v) => `${v.toFixed(0)} ms (median of ${starts?.length})`,
    ),
  )
  const nodeStarts = startup['service-node']
  const nodeMedian = nodeStarts?.length ? `${median(nodeStarts).toFixed(0)} ms` : 'not measured'
  out.push({ text: `users-service on Node: spawn to first 200 on /healthz: ${nodeMedian} (reported, not judged)`, status: 'n/a' })
  return out
}

export const DOCS_START = '<!-- bench:results:start (written by `bun run bench --update-docs`; edit outside these markers) -->'
export const DOCS_END = '<!-- bench:results:end -->'

/** The part of docs/performance.md the bench rewrites: when, where, the table, the targets. */
export function docsSection(options: {
  date: string
  machine: string
  command: string
  method: string
  rows: Row[]
  startup: Startup
  idle?: Idle
  targets: Target[]
}): string {
  const startupLines = Object.entries(options.startup).map(
    ([c, ms]) =>
      `- ${CONTENDERS[c as ContenderId].label}: ${fixed(median(ms), 0)} ms (runs: ${ms.map((m) => m.toFixed(0)).join(', ')})`,
  )
  return [
    DOCS_START,
    `Measured ${options.date} with \`${options.command}\` on ${options.machine}.`,
    '',
    options.method,
    '',
    markdownTable(tableRows(options.rows)),
    '',
    '![Requests/s and CPU per request, per workload and contender](performance.svg)',
    '',
    '**Startup** (spawn to the first 200 on `/healthz`, database already up):',
    '',
    ...startupLines,
    '',
    ...(options.idle
      ? [
          `**Idle** (CPU ms per second doing nothing, over ${options.idle.seconds} s with every contender started and settled, no load):`,
          '',
          ...idleLines(options.idle).map((line) => `- ${line}`),
          '',
        ]
      : []),
    '**Targets** (from issue 18):',
    '',
    ...options.targets.map((t) => `- ${t.status}: ${t.text}`),
    '',
    `Workloads: ${Object.values(WORKLOADS)
      .map((w) => `\`${w.id}\` ${w.title}`)
      .join('; ')}.`,
    DOCS_END,
  ].join('\n')
}
