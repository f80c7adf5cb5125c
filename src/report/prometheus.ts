/**
 * Prometheus sections of the reports: the console section and the CSV blocks appended to
 * `metrics_summary.csv` (one column per round, as the rest of the file). The JSON is the RunResult's
 * `prometheus` field, in run.json.
 */

import type { MetricSummary, PrometheusRoundSummary, RunResult } from '../types.ts'

/** One block of rows: a title, then named rows with one cell per round. */
interface Block {
  title: string
  rows: { name: string; cells: (number | undefined)[] }[]
}

const STATS: [string, keyof MetricSummary][] = [
  ['Average', 'avg'],
  ['P50', 'p50'],
  ['P90', 'p90'],
  ['P99', 'p99'],
  ['Min', 'min'],
  ['Max', 'max'],
  ['Stddev', 'stddev'],
]

/** The rounds that have Prometheus samples, in run order. */
function columns(run: RunResult): { label: string; summary: PrometheusRoundSummary }[] {
  const prometheus = run.prometheus ?? {}
  const labels = run.rounds.map((r) => r.label).filter((l) => prometheus[l])
  for (const label of Object.keys(prometheus)) if (!labels.includes(label)) labels.push(label)
  return labels.map((label) => ({ label, summary: prometheus[label] as PrometheusRoundSummary }))
}

/** The report blocks: derived hit rate, counters, gauges, histograms, per-request deltas, scrapes. */
function blocks(run: RunResult): Block[] {
  const cols = columns(run)
  if (cols.length === 0) return []
  const out: Block[] = []
  const keys = (pick: (s: PrometheusRoundSummary) => object | undefined): string[] => [...new Set(cols.flatMap((c) => Object.keys(pick(c.summary) ?? {})))]
  if (cols.some((c) => c.summary.prefixCache)) {
    out.push({
      title: 'Prefix cache hit rate (derived: Δhits / Δqueries)',
      rows: [
        { name: 'Hit Rate', cells: cols.map((c) => c.summary.prefixCacheHitRate) },
        { name: 'Hits (tokens)', cells: cols.map((c) => c.summary.prefixCache?.hits) },
        { name: 'Queries (tokens)', cells: cols.map((c) => c.summary.prefixCache?.queries) },
      ],
    })
  }
  const histogramKeys = keys((s) => s.histograms)
  const histogramParts = new Set(histogramKeys.flatMap((k) => ['_sum', '_count'].map((suffix) => withSuffix(k, suffix))))
  for (const key of keys((s) => s.counters)) {
    if (histogramParts.has(key)) continue
    out.push({
      title: `${key} (counter)`,
      rows: [
        { name: 'Delta', cells: cols.map((c) => c.summary.counters[key]?.delta) },
        { name: 'Rate (/s)', cells: cols.map((c) => c.summary.counters[key]?.ratePerS) },
      ],
    })
  }
  for (const key of keys((s) => s.gauges)) {
    out.push({ title: `${key} (gauge)`, rows: STATS.map(([name, stat]) => ({ name, cells: cols.map((c) => c.summary.gauges[key]?.[stat]) })) })
  }
  for (const key of histogramKeys) {
    const h = (c: (typeof cols)[number]): NonNullable<PrometheusRoundSummary['histograms']>[string] | undefined => c.summary.histograms?.[key]
    out.push({
      title: `${key} (histogram)`,
      rows: [
        { name: 'Count', cells: cols.map((c) => h(c)?.count) },
        { name: 'Mean', cells: cols.map((c) => h(c)?.mean) },
        { name: 'P50 (est.)', cells: cols.map((c) => h(c)?.p50) },
        { name: 'P90 (est.)', cells: cols.map((c) => h(c)?.p90) },
        { name: 'P99 (est.)', cells: cols.map((c) => h(c)?.p99) },
      ],
    })
  }
  for (const key of keys((s) => s.perRequest)) {
    out.push({ title: `${key} per request (delta)`, rows: STATS.map(([name, stat]) => ({ name, cells: cols.map((c) => c.summary.perRequest?.[key]?.[stat]) })) })
  }
  out.push({
    title: 'Scrapes',
    rows: [
      { name: 'Succeeded', cells: cols.map((c) => c.summary.scrapes) },
      { name: 'Failed', cells: cols.map((c) => c.summary.failedScrapes) },
    ],
  })
  return out
}

function withSuffix(key: string, suffix: string): string {
  const brace = key.indexOf('{')
  return brace === -1 ? key + suffix : key.slice(0, brace) + suffix + key.slice(brace)
}

/** Quotes a CSV cell when it needs it (as csv.ts does; not imported from there, which imports this file). */
function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

/** Numbers as the report shows them: whole numbers as such, others with 4 decimals. */
function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return ''
  return Number.isInteger(v) ? String(v) : v.toFixed(4)
}

/**
 * CSV lines appended to `metrics_summary.csv`: a blank line, then for each metric a `Prometheus: <metric>`
 * title and its rows (`Average, P50, P90, P99, Min, Max, Stddev` for gauges; `Delta, Rate (/s)` for
 * counters), one cell per round column. Empty when the run has no Prometheus samples.
 */
export function prometheusCsvLines(run: RunResult): string[] {
  const cols = columns(run)
  const all = blocks(run)
  if (all.length === 0) return []
  // Cells follow the file's header (every round); rounds without samples get empty cells.
  const header = run.rounds.length > 0 ? run.rounds.map((r) => r.label) : cols.map((c) => c.label)
  const index = cols.map((c) => header.indexOf(c.label))
  const lines: string[] = []
  for (const block of all) {
    lines.push('', csvCell(`Prometheus: ${block.title}`))
    for (const row of block.rows) {
      const cells = header.map(() => '')
      row.cells.forEach((v, i) => {
        const at = index[i] as number
        if (at >= 0) cells[at] = fmt(v)
      })
      lines.push([csvCell(row.name), ...cells].join(','))
    }
  }
  return lines
}

/** The console section: every block as a table with one column per round; empty when there is nothing. */
export function formatPrometheus(run: RunResult): string {
  const cols = columns(run)
  const all = blocks(run)
  if (all.length === 0) return ''
  const url = (run.config['prometheus'] as { url?: string; mode?: string } | undefined) ?? {}
  const nameW = Math.max(30, ...all.flatMap((b) => b.rows.map((r) => r.name.length + 4)))
  const cellW = Math.max(14, ...cols.map((c) => c.label.length + 2))
  const width = nameW + cellW * cols.length
  const lines = ['='.repeat(width), `Prometheus metrics${url.url ? ` from ${url.url}` : ''}${url.mode ? ` (${url.mode} mode)` : ''}`, '='.repeat(width)]
  lines.push(''.padEnd(nameW) + cols.map((c) => c.label.padEnd(cellW)).join(''))
  for (const block of all) {
    lines.push(block.title)
    for (const row of block.rows) lines.push(`  ${row.name}`.padEnd(nameW) + row.cells.map((v) => (fmt(v) || '-').padEnd(cellW)).join(''))
  }
  const failed = cols.filter((c) => c.summary.failedScrapes > 0)
  if (failed.length > 0) {
    const first = failed.find((c) => c.summary.firstScrapeError)?.summary.firstScrapeError
    lines.push('', `${failed.reduce((n, c) => n + c.summary.failedScrapes, 0)} scrapes failed${first ? `; first: ${first}` : ''}`)
  }
  const missing = [...new Set(cols.flatMap((c) => c.summary.missing ?? []))]
  if (missing.length > 0) lines.push('', `Not found on the endpoint: ${missing.join(', ')}`)
  return lines.join('\n')
}
