/**
 * Soak (`bun run reliability:soak`): a bounded run of a realistic mix against the service on the
 * embedded database. 20 s by default; `--duration <seconds>`, or `--long` for 10 minutes.
 *
 * Asserted: no error answers at all (no 5xx, no 4xx other than the 404 of the lookups of unknown
 * ids, none unanswered), and the service's resident memory (VmRSS) at the end at most
 * RSS_GROWTH_LIMIT_MB above its high-water mark of the warm-up.
 */
import { createReport, flag, info, quantile, rssMb, section, startDatabase, startService, tempDir } from './lib'
import { createLedger, startLoad, tally } from './load'

/**
 * Why 24 MB: under this load the service holds 100-115 MB and its level swings by 10-20 MB
 * between garbage collections (measured here), so a tighter bound would be noise. A leak of
 * 10 KB per request, at the 100-300 requests/s this shared machine sustains, adds 20-60 MB in the
 * 20 s run; the 10-minute run (--long, 60,000 requests or more) catches leaks of 0.5 KB per request.
 */
const RSS_GROWTH_LIMIT_MB = 24
const durationS = flag('long') !== undefined ? 600 : Number(flag('duration') ?? 20)
if (!Number.isFinite(durationS) || durationS < 5) {
  console.error('--duration takes a number of seconds, at least 5')
  process.exit(2)
}
const warmupS = Math.min(10, Math.max(3, Math.round(durationS / 4)))

const report = createReport('soak')
const db = await startDatabase(`${tempDir('reliability-soak-')}/data`)
const service = await startService(db.uri)
section(`soak: ${durationS} s (${warmupS} s warm-up) against ${service.url} (pid ${service.pid})`)

const load = startLoad({
  target: () => service.url,
  ledger: createLedger('s'),
  concurrency: 8,
  // Reads dominate, as for a user directory; writes and lookups of unknown ids are in the mix too.
  mix: { get: 40, byUsername: 15, byEmail: 5, list: 10, create: 10, patch: 15, missing: 5 },
})
const samples: { at: number; rss: number; answers: number }[] = []
const started = performance.now()
let baseline: number | undefined
while (performance.now() - started < durationS * 1000) {
  await Bun.sleep(1000)
  const at = (performance.now() - started) / 1000
  const sample = { at, rss: rssMb(service.pid), answers: load.outcomes.length }
  const previous = samples.at(-1)
  samples.push(sample)
  // The baseline is the highest level the warm-up reached, not one reading at its end: the level
  // swings by 10-30 MB between collections, and a reading taken just after one made a leak-free
  // run fail (102.5 MB after the warm-up, whose peak was 132.1 MB; 130.4 MB at the end). A leak
  // still shows: it grows past the warm-up's peak and stays there.
  if (baseline === undefined && at >= warmupS) baseline = Math.max(...samples.map((s) => s.rss))
  const rate = previous ? (sample.answers - previous.answers) / (sample.at - previous.at) : sample.answers / at
  if (samples.length % 2 === 0 || at >= durationS)
    info(
      `t=${at.toFixed(0).padStart(3)} s  rss ${sample.rss.toFixed(1)} MB${baseline === undefined ? ' (warm-up)' : ''}  answers ${sample.answers}  ${rate.toFixed(0)}/s`,
    )
}
await load.stop()

section('results')
info(tally(load.outcomes))
const errors = load.outcomes.filter((o) => !o.expected)
report.check(
  'no error answers (no 5xx, no unexpected 4xx, none unanswered)',
  errors.length === 0,
  `${errors.length} of ${load.outcomes.length}${
    errors.length
      ? `: ${errors
          .slice(0, 3)
          .map((o) => `${o.op} ${o.status} ${o.error}`)
          .join('; ')}`
      : ''
  }`,
)
// The end level: the median of the last three samples, so one sample taken just before a
// garbage collection does not decide.
const end = quantile(
  samples.slice(-3).map((s) => s.rss),
  0.5,
)
const growth = end - (baseline ?? end)
report.check(
  `RSS growth past the warm-up's peak at most ${RSS_GROWTH_LIMIT_MB} MB`,
  growth <= RSS_GROWTH_LIMIT_MB,
  `${(baseline ?? 0).toFixed(1)} MB -> ${end.toFixed(1)} MB, ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB`,
)
report.check('the service process is up', service.alive())
const latencies = load.outcomes.map((o) => o.endedAt - o.startedAt)
report.figure('duration (s)', durationS)
report.figure('answers', load.outcomes.length)
report.figure('answers per second', load.outcomes.length / durationS)
report.figure('latency p50 (ms)', quantile(latencies, 0.5))
report.figure('latency p99 (ms)', quantile(latencies, 0.99))
report.figure('RSS warm-up peak (MB)', baseline ?? 0)
report.figure('RSS at the end (MB)', end)
report.figure('RSS peak (MB)', Math.max(...samples.map((s) => s.rss)))

await service.stop()
await db.stop()
report.finish()
