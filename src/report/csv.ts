import type { MetricName, RoundResult, RunResult } from '../types.ts'
import { prometheusCsvLines } from './prometheus.ts'

/**
 * Metric blocks of `metrics_summary.csv`, in the Python tools' layout. The Python tools' "ITL (ms)" is the per-request
 * (latency − TTFT) / (tokens − 1), which fluxperf calls TPOT; the column keeps the Python tools' name and meaning.
 */
const BLOCKS: { title: string; metric: MetricName }[] = [
  { title: 'TTFT (ms)', metric: 'ttft' },
  { title: 'ITL (ms)', metric: 'tpot' },
  { title: 'Latency (ms)', metric: 'latency' },
  { title: 'ITL gaps (ms)', metric: 'itl' },
  { title: 'Input Tokens', metric: 'inputTokens' },
  { title: 'Output Tokens', metric: 'outputTokens' },
]

/** Blocks added after the Python tools' when a request reasoned (their consumers read blocks by title). */
const REASONING_BLOCKS: { title: string; metric: MetricName }[] = [
  { title: 'TTFAT (ms)', metric: 'ttfat' },
  { title: 'Reasoning Time (ms)', metric: 'reasoningTime' },
  { title: 'Reasoning Tokens', metric: 'reasoningTokens' },
  { title: 'Answer Tokens', metric: 'answerTokens' },
  { title: 'Reasoning TPOT (ms)', metric: 'reasoningTpot' },
  { title: 'Answer TPOT (ms)', metric: 'answerTpot' },
]

/** The Python tools' statistic rows: label and MetricSummary key. */
export const STAT_ROWS = [
  ['Average', 'avg'],
  ['Median', 'p50'],
  ['P90', 'p90'],
  ['P99', 'p99'],
  ['Min', 'min'],
  ['Max', 'max'],
  ['Stddev', 'stddev'],
] as const

/** `metrics_summary.csv`: a `Concurrency{c}-Round{r}` column per round, a block per metric. */
export function metricsSummaryCsv(run: RunResult): string {
  const rounds = run.rounds
  const lines = [['Metric/Round', ...rounds.map((r) => r.label)].join(',')]
  const blocks = rounds.some((r) => r.metrics.reasoningTokens) ? [...BLOCKS, ...REASONING_BLOCKS] : BLOCKS
  for (const { title, metric } of blocks) {
    lines.push('', csvCell(title))
    for (const [name, stat] of STAT_ROWS) {
      // A metric without samples has no statistics: empty cells, never zeros.
      lines.push([name, ...rounds.map((r) => (r.metrics[metric]?.count === 0 ? '' : num(r.metrics[metric]?.[stat])))].join(','))
    }
  }
  lines.push('', 'Requests')
  lines.push(['Total', ...rounds.map((r) => String(r.total))].join(','))
  lines.push(['Success', ...rounds.map((r) => String(r.succeeded))].join(','))
  lines.push(['Failed', ...rounds.map((r) => String(r.failed))].join(','))
  lines.push(['Duration (s)', ...rounds.map((r) => num(r.durationS))].join(','))
  lines.push('', 'Throughput')
  lines.push(['Request Throughput (req/s)', ...rounds.map((r) => num(r.throughput.requestsPerS))].join(','))
  lines.push(['Token Throughput (tok/s)', ...rounds.map((r) => num(r.throughput.outputTokensPerS))].join(','))
  if (rounds.some((r) => r.goodput)) {
    lines.push('', 'Goodput (SLO)')
    lines.push(['Requests Meeting SLO', ...rounds.map((r) => optional(r.goodput?.requests))].join(','))
    lines.push(['Requests Meeting SLO (%)', ...rounds.map((r) => optional(r.goodput && r.goodput.requestShare * 100))].join(','))
    lines.push(['Tokens Meeting SLO', ...rounds.map((r) => optional(r.goodput?.tokens))].join(','))
    lines.push(['Goodput (req/s)', ...rounds.map((r) => optional(r.goodput?.requestsPerS))].join(','))
  }
  lines.push('', 'Cache')
  lines.push(['Cached Prompt Tokens (%)', ...rounds.map((r) => optional(r.cache.cachedShare === null ? undefined : r.cache.cachedShare * 100))].join(','))
  lines.push(['TTFT Speedup Avg (R1/R2)', ...rounds.map((r) => speedupCell(run, r, 'avg'))].join(','))
  lines.push(['TTFT Speedup P50 (R1/R2)', ...rounds.map((r) => speedupCell(run, r, 'p50'))].join(','))
  // Prometheus blocks (src/report/prometheus.ts), only when the run scraped an endpoint.
  lines.push(...prometheusCsvLines(run))
  return lines.join('\n') + '\n'
}

function speedupCell(run: RunResult, round: RoundResult, stat: 'avg' | 'p50'): string {
  if (round.round !== 2) return ''
  const s = run.speedups.find((x) => x.concurrency === round.concurrency && x.metric === 'ttft' && x.stat === stat)
  return s ? num(s.ratio) : ''
}

function num(v: number | null | undefined): string {
  return v === undefined || v === null || !Number.isFinite(v) ? '' : v.toFixed(2)
}

function optional(v: number | undefined): string {
  return v === undefined ? '' : Number.isInteger(v) ? String(v) : v.toFixed(2)
}

/** Quotes a CSV cell when it needs it. */
export function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}
