/**
 * The stages of a recipe side by side: `recipe_summary.csv` (the Python tools' block layout, one column per
 * stage and round), `recipe.json`, and a console table.
 */

import { STAT_ROWS } from '../report/index.ts'
import type { MetricName, RoundResult, RunResult } from '../types.ts'

/** What one stage produced. */
export interface StageOutcome {
  name: string
  description?: string
  outputDir: string
  /** The stage's exit code (0 ok, 1 failed, 99 SLO missed, 130 interrupted). */
  exitCode: number
  /** Why the stage failed before or outside its run (server start, an error). */
  error?: string
  /** The variables the recipe and the stage set (secret-looking values redacted). */
  env: Record<string, string>
  /** The stage's run.json, when it was written. */
  run?: RunResult
}


const BLOCKS: { title: string; metric: MetricName }[] = [
  { title: 'TTFT (ms)', metric: 'ttft' },
  { title: 'TPOT (ms)', metric: 'tpot' },
  { title: 'Latency (ms)', metric: 'latency' },
  { title: 'ITL gaps (ms)', metric: 'itl' },
]

interface Column {
  stage: StageOutcome
  round?: RoundResult
  label: string
}

function columnsOf(outcomes: readonly StageOutcome[]): Column[] {
  return outcomes.flatMap((stage) => {
    const rounds = stage.run?.rounds ?? []
    if (rounds.length === 0) return [{ stage, label: stage.name }]
    return rounds.map((round) => ({ stage, round, label: `${stage.name}/${round.label}` }))
  })
}

/** The level's round 1 / round 2 ratio on its round-2 column; null when n/a (a round without successes). */
function speedup(col: Column, stat: 'avg' | 'p50'): number | null | undefined {
  if (!col.round || col.round.round !== 2) return undefined
  return col.stage.run?.speedups.find((s) => s.concurrency === col.round?.concurrency && s.metric === 'ttft' && s.stat === stat)?.ratio
}

function hitRate(col: Column): number | undefined {
  return col.round ? col.stage.run?.prometheus?.[col.round.label]?.prefixCacheHitRate : undefined
}

function num(v: number | null | undefined, digits = 2): string {
  return v === undefined || v === null || !Number.isFinite(v) ? '' : v.toFixed(digits)
}

function speedupCell(ratio: number | null | undefined): string {
  return ratio === undefined ? '' : ratio === null ? 'n/a' : `${num(ratio)}x`
}

/** A statistic of a round's metric for the table: n/a when the metric has no samples. */
function statCell(round: RoundResult | undefined, metric: MetricName, stat: 'avg' | 'p50' | 'p99'): string {
  const s = round?.metrics[metric]
  if (!round || !s) return ''
  return s.count === 0 ? 'n/a' : num(s[stat])
}

function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

/** `recipe_summary.csv`: a `<stage>/Concurrency{c}-Round{r}` column per round of every stage. */
export function recipeSummaryCsv(outcomes: readonly StageOutcome[]): string {
  const cols = columnsOf(outcomes)
  const row = (name: string, cells: string[]): string => [csvCell(name), ...cells.map(csvCell)].join(',')
  const lines = [row('Metric/Stage', cols.map((c) => c.label))]
  lines.push(row('Stage', cols.map((c) => c.stage.name)))
  lines.push(row('Exit Code', cols.map((c) => String(c.stage.exitCode))))
  for (const { title, metric } of BLOCKS) {
    lines.push('', csvCell(title))
    // A metric without samples has no statistics: empty cells, never zeros.
    for (const [name, stat] of STAT_ROWS) lines.push(row(name, cols.map((c) => (c.round?.metrics[metric]?.count === 0 ? '' : num(c.round?.metrics[metric]?.[stat])))))
  }
  lines.push('', 'Requests')
  lines.push(row('Total', cols.map((c) => (c.round ? String(c.round.total) : ''))))
  lines.push(row('Success', cols.map((c) => (c.round ? String(c.round.succeeded) : ''))))
  lines.push(row('Failed', cols.map((c) => (c.round ? String(c.round.failed) : ''))))
  lines.push('', 'Throughput')
  lines.push(row('Request Throughput (req/s)', cols.map((c) => num(c.round?.throughput.requestsPerS))))
  lines.push(row('Token Throughput (tok/s)', cols.map((c) => num(c.round?.throughput.outputTokensPerS))))
  lines.push('', 'Cache')
  lines.push(row('TTFT Speedup Avg (R1/R2)', cols.map((c) => num(speedup(c, 'avg')))))
  lines.push(row('TTFT Speedup P50 (R1/R2)', cols.map((c) => num(speedup(c, 'p50')))))
  lines.push(row('Cached Prompt Tokens (%)', cols.map((c) => (c.round?.cache.cachedShare == null ? '' : num(c.round.cache.cachedShare * 100)))))
  if (cols.some((c) => hitRate(c) !== undefined)) lines.push(row('Prefix Cache Hit Rate (Prometheus)', cols.map((c) => num(hitRate(c), 4))))
  return lines.join('\n') + '\n'
}

/** `recipe.json`: the recipe, and every stage with its settings, exit code and summary. */
export function recipeJson(recipePath: string, startedAt: Date, outcomes: readonly StageOutcome[]): string {
  return JSON.stringify({
    recipe: recipePath,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    stages: outcomes.map((o) => ({
      name: o.name,
      ...(o.description ? { description: o.description } : {}),
      env: o.env,
      outputDir: o.outputDir,
      exitCode: o.exitCode,
      ...(o.error ? { error: o.error } : {}),
      rounds: o.run?.rounds.map((r) => ({ label: r.label, total: r.total, succeeded: r.succeeded, failed: r.failed, ttft: r.metrics.ttft, tpot: r.metrics.tpot, latency: r.metrics.latency, throughput: r.throughput })),
      speedups: o.run?.speedups,
      prometheus: o.run?.prometheus,
    })),
  }, null, 2) + '\n'
}

/** The console comparison: one line per stage and round. */
export function formatRecipeSummary(recipePath: string, outcomes: readonly StageOutcome[]): string {
  const cols = columnsOf(outcomes)
  const withHitRate = cols.some((c) => hitRate(c) !== undefined)
  const head = ['Stage', 'Round', 'OK/Total', 'TTFT avg', 'TTFT p50', 'TTFT p99', 'TPOT avg', 'Latency p50', 'tok/s', 'Speedup', ...(withHitRate ? ['Hit rate'] : []), 'Exit']
  const rows = cols.map((c) => {
    const r = c.round
    return [
      c.stage.name,
      r ? r.label : c.stage.error ? `(${c.stage.error.split('\n')[0]?.slice(0, 60)})` : '(no results)',
      r ? `${r.succeeded}/${r.total}` : '',
      statCell(r, 'ttft', 'avg'),
      statCell(r, 'ttft', 'p50'),
      statCell(r, 'ttft', 'p99'),
      statCell(r, 'tpot', 'avg'),
      statCell(r, 'latency', 'p50'),
      num(r?.throughput.outputTokensPerS, 1),
      speedupCell(speedup(c, 'avg')),
      ...(withHitRate ? [num(hitRate(c), 3)] : []),
      String(c.stage.exitCode),
    ]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)) + 2)
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join('').trimEnd()
  const width = widths.reduce((a, b) => a + b, 0)
  return [
    '='.repeat(width),
    `Recipe summary: ${recipePath} (${outcomes.length} stage${outcomes.length === 1 ? '' : 's'}; times in ms)`,
    '='.repeat(width),
    line(head),
    '-'.repeat(width),
    ...rows.map(line),
  ].join('\n')
}
