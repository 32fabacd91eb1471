import type { Registry } from 'prom-client'

type Labels = { method: string; route: string; status: string }
type Series = { labels: Labels; count: number; sum: number; buckets: number[] }
/** One exposed value, as prom-client's own metrics hand them to their registry. */
type Value = { value: number; labels: Record<string, string | number>; metricName?: string; sharedLabels?: Labels }

/**
 * `http_requests_total` and `http_request_duration_seconds`, by method, route template and status:
 * the same two metrics, and the same exposition text, as a prom-client Counter and Histogram with
 * those label names (tests/observability.test.ts compares the text of both). Counted in plain
 * numbers per series, found through three map lookups: prom-client's own `inc`/`observe` validate
 * the labels and build a string key from them on every call, and its histogram indexes bucket
 * counts by the bound turned into a string, which made the metrics a sixth of the service's own
 * CPU per request (issue 18). The registry reads them at each scrape, through the interface it
 * reads its own metrics by (`getForPromString` / `get`).
 */
export function registerRequestMetrics(registry: Registry, bounds: readonly number[]) {
  const series = new Map<string, Map<string, Map<number, Series>>>()
  const all: Series[] = []
  const seriesOf = (method: string, route: string, status: number): Series => {
    const byStatus = entry(
      entry(series, method, () => new Map()),
      route,
      () => new Map(),
    )
    return entry(byStatus, status, () => {
      const created = { labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: bounds.map(() => 0) }
      all.push(created)
      return created
    })
  }
  const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => Value[]) => {
    const getForPromString = async () => ({ name, help, type, values: values(), aggregator: 'sum' })
    registry.registerMetric({
      name,
      help,
      type,
      getForPromString,
      // What prom-client's get() gives (the JSON form): shared labels merged into each value's own.
      get: async () => {
        const data = await getForPromString()
        return {
          ...data,
          values: data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })),
        }
      },
    } as unknown as Parameters<Registry['registerMetric']>[0])
  }
  metric('http_requests_total', 'HTTP requests answered.', 'counter', () =>
    all.map((s) => ({ value: s.count, labels: s.labels })),
  )
  metric('http_request_duration_seconds', 'Time to answer an HTTP request, in seconds.', 'histogram', () =>
    all.flatMap((s): Value[] => {
      let cumulative = 0
      const name = 'http_request_duration_seconds'
      return [
        ...bounds.map((le, i) => {
          cumulative += s.buckets[i] ?? 0
          return { labels: { le }, value: cumulative, metricName: `${name}_bucket`, sharedLabels: s.labels }
        }),
        { labels: { le: '+Inf' }, value: s.count, metricName: `${name}_bucket`, sharedLabels: s.labels },
        { labels: {}, value: s.sum, metricName: `${name}_sum`, sharedLabels: s.labels },
        { labels: {}, value: s.count, metricName: `${name}_count`, sharedLabels: s.labels },
      ]
    }),
  )
  return {
    /** Counts one answered request and files its duration in the first bucket whose bound holds it. */
    observe(method: string, route: string, status: number, seconds: number): void {
      const s = seriesOf(method, route, status)
      s.count++
      s.sum += seconds
      for (let i = 0; i < bounds.length; i++) {
        if (seconds <= (bounds[i] ?? 0)) {
          s.buckets[i] = (s.buckets[i] ?? 0) + 1
          return
        }
      }
    },
  }
}

/** The value at `key`, added by `make` when missing. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key)
  if (value === undefined) {
    value = make()
    map.set(key, value)
  }
  return value
}
