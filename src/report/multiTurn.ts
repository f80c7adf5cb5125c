import { closeSync, openSync, writeSync } from 'node:fs'
import { decodeHistogram, emptySummary, mergeEncoded, noSamplesReason } from '../metrics/index.ts'
import type { CacheSpeedup, MetricName, MetricSummary, MultiTurnResult, RequestRecord, RoundResult, RunResult } from '../types.ts'
import { errorTable } from './console.ts'
import { csvCell } from './csv.ts'

const RULE = '='.repeat(80)

/**
 * Statistics of a metric over every round of the run: percentiles from the rounds' merged histograms,
 * kept within the exact min and max (HDR reports a bucket's highest equivalent value, which can exceed
 * the largest sample); count, mean and standard deviation combined exactly from the rounds' summaries.
 */
export function overallSummary(run: RunResult, metric: MetricName): MetricSummary {
  const summaries = run.rounds.map((r) => r.metrics[metric]).filter((s): s is MetricSummary => !!s && s.count > 0)
  const encoded = run.rounds.map((r) => r.histograms[metric]).filter((h): h is string => typeof h === 'string')
  if (summaries.length === 0 || encoded.length === 0) return emptySummary()
  const h = decodeHistogram(mergeEncoded(encoded))
  if (h.totalCount === 0) return emptySummary()
  const min = Math.min(...summaries.map((s) => s.min))
  const max = Math.max(...summaries.map((s) => s.max))
  const at = (p: number): number => Math.min(max, Math.max(min, h.getValueAtPercentile(p) / 1000))
  const count = summaries.reduce((n, s) => n + s.count, 0)
  const avg = summaries.reduce((n, s) => n + s.avg * s.count, 0) / count
  // Pooled: E[x²] of each round is stddev² + avg².
  const meanSquare = summaries.reduce((n, s) => n + (s.stddev * s.stddev + s.avg * s.avg) * s.count, 0) / count
  return { count, avg, p50: at(50), p90: at(90), p95: at(95), p99: at(99), min, max, stddev: Math.sqrt(Math.max(0, meanSquare - avg * avg)) }
}

function ms(v: number): string {
  return `${v.toFixed(2).padStart(10)} ms`
}

function statBlock(title: string, s: MetricSummary): string[] {
  if (s.count === 0) return [`${title}: n/a (no successful requests)`]
  return [
    `${title}:`,
    `  Min:    ${ms(s.min)}`,
    `  Max:    ${ms(s.max)}`,
    `  Mean:   ${ms(s.avg)}`,
    `  P50:    ${ms(s.p50)}`,
    `  P95:    ${ms(s.p95)}`,
    `  P99:    ${ms(s.p99)}`,
  ]
}

/** Wall time of the run in seconds, from its start and finish stamps. */
export function runSeconds(run: RunResult): number {
  return Math.max(0, (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000)
}

/**
 * The Python multi-turn tool's (002) "BENCHMARK SUMMARY": totals, TTFT and total request time statistics, TTFT by turn number,
 * first turn vs later turns (the prefix-caching indicator), a breakdown by document type, and errors.
 */
export function formatMultiTurnSummary(run: MultiTurnResult): string {
  const seconds = runSeconds(run)
  const total = run.rounds.reduce((n, r) => n + r.total, 0)
  const conv = run.conversations
  const lines = [RULE, 'BENCHMARK SUMMARY', RULE, '']
  lines.push(`Total time: ${seconds.toFixed(2)}s`)
  lines.push(`Total requests: ${total}`)
  if (conv) {
    lines.push(`Completed conversations: ${conv.completed}/${conv.planned}`)
    if (conv.endedByContextLimit > 0) lines.push(`Ended early (context too long, HTTP 400): ${conv.endedByContextLimit}`)
    const other = conv.started - conv.completed - conv.endedByContextLimit
    if (other > 0) lines.push(`Finished with failed turns or interrupted: ${other}`)
    if (conv.started < conv.planned) lines.push(`Never started (interrupted): ${conv.planned - conv.started}`)
  }
  lines.push(`Requests per second: ${(seconds > 0 ? total / seconds : 0).toFixed(2)}`)
  lines.push('', ...statBlock('Time to First Token (TTFT)', overallSummary(run, 'ttft')))
  lines.push('', ...statBlock('Total Request Time', overallSummary(run, 'latency')))
  if (run.byTurn?.length) {
    lines.push('', 'TTFT by Turn Number:')
    for (const t of run.byTurn) {
      const stats = t.ttft.count === 0 ? 'n/a (no successful requests)' : `${ms(t.ttft.avg)} avg, ${ms(t.ttft.p50)} p50 (${t.ttft.count} requests)`
      lines.push(`  Turn ${String(t.turn).padStart(2)}: ${stats}`)
    }
  }
  const avg = run.speedups.find((s) => s.metric === 'ttft' && s.stat === 'avg')
  const p50 = run.speedups.find((s) => s.metric === 'ttft' && s.stat === 'p50')
  if (avg) {
    const [cold, warm] = run.rounds
    const group = (r: RoundResult | undefined, v: number): string => (r && (r.metrics.ttft?.count ?? 0) > 0 ? ms(v) : `n/a (${r ? noSamplesReason(r, 'ttft') : 'no requests'})`)
    const ratio = (s: CacheSpeedup | undefined): string => (s?.ratio === null || s?.ratio === undefined ? 'n/a' : `${s.ratio.toFixed(2)}x`)
    lines.push('', 'First Turn vs Subsequent Turns (Prefix Caching Indicator):')
    lines.push(`  First turn avg:   ${group(cold, avg.cold)}`)
    lines.push(`  Later turns avg:  ${group(warm, avg.warm)}`)
    lines.push(`  Speedup ratio:    ${ratio(avg).padStart(10)}   (p50: ${ratio(p50)})${avg.ratio === null ? ` — ${avg.reason ?? 'no value'}` : ''}`)
    if (warm && warm.cache.cachedShare !== null) {
      lines.push(`  Server-reported cached prompt tokens: first turn ${share(cold?.cache.cachedShare ?? null)}, later turns ${share(warm.cache.cachedShare)}`)
    }
  }
  if (run.byDocumentType?.length) {
    lines.push('', 'Breakdown by Document Type:')
    for (const d of run.byDocumentType) {
      const stats = d.ttft.count === 0 ? 'n/a (no successful requests)' : `TTFT ${ms(d.ttft.avg)} avg, ${ms(d.ttft.p50)} p50   total time ${ms(d.latency.avg)} avg`
      lines.push(`  ${d.type.toUpperCase().padEnd(5)} ${String(d.requests).padStart(5)} requests   ${stats}`)
    }
  }
  const errors = mergedErrors(run.rounds)
  if (errors.length > 0 && run.rounds[0]) lines.push('', ...errorTable({ ...run.rounds[0], errors }))
  return lines.join('\n')
}

function share(v: number | null): string {
  return v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`
}

/** Failed requests by kind over every round. */
export function mergedErrors(rounds: readonly RoundResult[]): RoundResult['errors'] {
  const byKind = new Map<string, RoundResult['errors'][number]>()
  for (const e of rounds.flatMap((r) => r.errors)) {
    const seen = byKind.get(e.kind)
    if (seen) seen.count += e.count
    else byKind.set(e.kind, { ...e })
  }
  return [...byKind.values()].sort((a, b) => b.count - a.count)
}

const STATS = ['count', 'avg', 'p50', 'p90', 'p95', 'p99', 'min', 'max'] as const

function statCells(s: MetricSummary): string[] {
  // A group without samples has no statistics: empty cells, never zeros.
  return STATS.map((k) => (k === 'count' ? String(s[k]) : s.count === 0 ? '' : s[k].toFixed(2)))
}

/** `ttft_by_turn.csv`: one row per turn number, TTFT and latency statistics (ms, successful requests). */
export function turnsCsv(run: Pick<MultiTurnResult, 'byTurn'>): string {
  const head = ['turn', ...STATS.map((s) => `ttft_${s}`), ...STATS.slice(1).map((s) => `latency_${s}`)]
  const rows = run.byTurn.map((t) => [String(t.turn), ...statCells(t.ttft), ...statCells(t.latency).slice(1)])
  return [head, ...rows].map((r) => r.join(',')).join('\n') + '\n'
}

/** `document_types.csv`: one row per document type. */
export function documentTypesCsv(run: MultiTurnResult): string {
  const head = ['type', 'requests', ...STATS.map((s) => `ttft_${s}`), ...STATS.slice(1).map((s) => `latency_${s}`)]
  const rows = run.byDocumentType.map((d) => [d.type, String(d.requests), ...statCells(d.ttft), ...statCells(d.latency).slice(1)])
  return [head, ...rows].map((r) => r.join(',')).join('\n') + '\n'
}

/** Header of `requests.csv` (one row per request of a multi-turn run). */
export const MULTI_TURN_REQUEST_COLUMNS = [
  'request_id', 'conversation', 'turn', 'started_at', 'ttft_ms', 'latency_ms', 'tpot_ms', 'input_tokens',
  'output_tokens', 'cached_tokens', 'status', 'success', 'error_kind', 'error_message',
] as const

/** One row of `requests.csv`. */
export function multiTurnRequestRow(r: RequestRecord): string {
  const n = (v: number | null): string => (v === null ? '' : v.toFixed(2))
  return [
    r.id, r.sessionId, String(r.turnIndex + 1), new Date(r.startedAt).toISOString(), n(r.ttftMs), n(r.latencyMs), n(r.tpotMs),
    String(r.inputTokens), String(r.outputTokens), r.cachedTokens === null ? '' : String(r.cachedTokens), r.status === null ? '' : String(r.status),
    String(r.ok), r.error?.kind ?? '', r.error?.message ?? '',
  ].map(csvCell).join(',')
}

/**
 * A CSV file written a row at a time as records end (multi-turn's `requests.csv`), opened on the first
 * row; `close` writes the header alone when no row came.
 */
export class CsvAppender {
  readonly path: string
  private readonly columns: readonly string[]
  private fd: number | null = null
  private closed = false

  constructor(path: string, columns: readonly string[]) {
    this.path = path
    this.columns = columns
  }

  write(row: string): void {
    if (this.closed) return
    this.open()
    writeSync(this.fd as number, row + '\n')
  }

  close(): void {
    if (this.closed) return
    this.open()
    closeSync(this.fd as number)
    this.closed = true
  }

  private open(): void {
    if (this.fd !== null) return
    this.fd = openSync(this.path, 'w')
    writeSync(this.fd, this.columns.join(',') + '\n')
  }
}
