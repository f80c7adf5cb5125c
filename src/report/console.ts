import { noSamplesReason } from '../metrics/index.ts'
import type { CacheSpeedup, MetricName, MetricSummary, RoundResult, RunResult } from '../types.ts'

const WIDTH = 120
const NAME_W = 30
const CELL_W = 14

/** Rows of the Python tools' metric table: label, metric, and how many decimals. */
const TABLE_ROWS: { label: string; metric: MetricName; digits: number }[] = [
  { label: 'TTFT (ms)', metric: 'ttft', digits: 2 },
  { label: 'TPOT (ms) [seed "ITL"]', metric: 'tpot', digits: 2 },
  { label: 'ITL gaps (ms)', metric: 'itl', digits: 2 },
  { label: 'Latency (ms)', metric: 'latency', digits: 2 },
]

/** Rows added when a request of the round reasoned (a model that does not reason shows the table above alone). */
const REASONING_ROWS: { label: string; metric: MetricName; digits: number }[] = [
  { label: 'TTFAT (ms) [first answer]', metric: 'ttfat', digits: 2 },
  { label: 'Reasoning time (ms)', metric: 'reasoningTime', digits: 2 },
  { label: 'Reasoning tokens', metric: 'reasoningTokens', digits: 1 },
  { label: 'Answer tokens', metric: 'answerTokens', digits: 1 },
  { label: 'Reasoning TPOT (ms)', metric: 'reasoningTpot', digits: 2 },
  { label: 'Answer TPOT (ms)', metric: 'answerTpot', digits: 2 },
]

/** Renders the Python tools' per-round console block: header, counts, metric table, throughput, goodput, cache. */
export function formatRound(round: RoundResult): string {
  const lines: string[] = []
  const rule = '='.repeat(WIDTH)
  // Traffic groups (Rate4.00, Stage2-Rate8.00, Trace, Concurrency8) are named by their label; the others keep the Python tools' title.
  const title = /^(Rate|Stage|Trace)|^Concurrency\d+$/.test(round.label) ? `${round.label} Performance Metrics` : `Concurrency: ${round.concurrency} | Round ${round.round} Performance Metrics`
  lines.push(rule, title, rule)
  const none = round.total === 0 ? 'n/a (no requests)' : undefined
  lines.push(`Total Requests: ${round.total} | Success: ${round.succeeded} | Failed: ${round.failed} | Test Duration: ${none ?? `${round.durationS.toFixed(2)} seconds`}`)
  const tokens = round.succeeded === 0 ? undefined : round
  const noTokens = `n/a (${noSamplesReason(round, 'inputTokens')})`
  lines.push(`Average Input Tokens: ${tokens ? tokens.avgInputTokens.toFixed(1) : noTokens} | Average Output Tokens: ${tokens ? tokens.avgOutputTokens.toFixed(1) : noTokens}`)
  lines.push('-'.repeat(WIDTH))
  lines.push(...metricTable(round))
  lines.push('', 'Throughput:')
  lines.push(`  Token Throughput: ${none ?? `${round.throughput.outputTokensPerS.toFixed(2)} tokens/sec`}`)
  lines.push(`  Request Throughput: ${none ?? `${round.throughput.requestsPerS.toFixed(2)} requests/sec`}`)
  if (round.goodput) {
    const g = round.goodput
    lines.push('', 'Goodput (SLO):')
    lines.push(`  Requests Meeting SLO: ${g.requests} / ${g.totalRequests} (${pct(g.requestShare)})`)
    lines.push(`  Tokens Meeting SLO: ${g.tokens} / ${g.totalTokens} (${pct(g.tokenShare)})`)
    lines.push(`  Goodput: ${g.requestsPerS.toFixed(2)} requests/sec, ${g.tokensPerS.toFixed(2)} tokens/sec`)
  }
  if (round.cache.reportedBy > 0 && round.cache.cachedShare !== null) {
    lines.push('', `Server-reported cached prompt tokens: ${round.cache.cachedTokens} / ${round.cache.promptTokens} (${pct(round.cache.cachedShare)}) over ${round.cache.reportedBy} requests`)
  }
  const notes = noteLines(round)
  if (notes.length > 0) lines.push('', ...notes)
  if (round.errors.length > 0) lines.push('', ...errorTable(round))
  return lines.join('\n')
}

function metricTable(round: RoundResult): string[] {
  const heads = ['Avg', 'P50', 'P90', 'P99', 'Min', 'Max', 'Stddev']
  const row = (cells: string[]): string => `│ ${cells[0]?.padEnd(NAME_W - 2)} │ ${cells.slice(1).map((c) => c.padEnd(CELL_W - 2)).join(' │ ')} │`
  const border = (l: string, m: string, r: string): string => l + '─'.repeat(NAME_W) + (m + '─'.repeat(CELL_W)).repeat(heads.length) + r
  const out = [row(['Metric', ...heads]), border('├', '┼', '┤')]
  // A metric without samples spans the row with n/a and the reason, never a row of 0.00.
  const span = heads.length * (CELL_W - 2) + (heads.length - 1) * 3
  for (const { label, metric, digits } of round.metrics.reasoningTokens ? [...TABLE_ROWS, ...REASONING_ROWS] : TABLE_ROWS) {
    const s = round.metrics[metric]
    if (!s) continue
    if (s.count === 0) out.push(`│ ${label.padEnd(NAME_W - 2)} │ ${`n/a (${noSamplesReason(round, metric)})`.padEnd(span)} │`)
    else out.push(row([label, ...statCells(s, digits)]))
  }
  out.push(border('└', '┴', '┘'))
  return out
}

function statCells(s: MetricSummary, digits: number): string[] {
  return [s.avg, s.p50, s.p90, s.p99, s.min, s.max, s.stddev].map((v) => v.toFixed(digits))
}

/** A table of failed requests: kind, count, first message. */
export function errorTable(round: RoundResult): string[] {
  const out = ['Errors:', `  ${'kind'.padEnd(22)} ${'count'.padStart(6)}  first message`]
  for (const e of round.errors) out.push(`  ${e.kind.padEnd(22)} ${String(e.count).padStart(6)}  ${e.firstMessage.slice(0, 200)}`)
  return out
}

/** One line per level: round 1 / round 2 TTFT, with the server's cache evidence next to it. */
export function formatSpeedups(run: RunResult): string {
  const byLevel = new Map<number, CacheSpeedup[]>()
  for (const s of run.speedups) byLevel.set(s.concurrency, [...(byLevel.get(s.concurrency) ?? []), s])
  if (byLevel.size === 0) return ''
  const lines = ['', 'Cache speedup (round 1 / round 2):']
  for (const [level, list] of byLevel) {
    const parts = list.map((s) => (s.ratio === null
      ? `TTFT ${s.stat} n/a (${s.reason ?? 'no value'})`
      : `TTFT ${s.stat} ${s.ratio.toFixed(2)}x (${s.cold.toFixed(1)} → ${s.warm.toFixed(1)} ms)`))
    const cold = run.rounds.find((r) => r.concurrency === level && r.round === 1)?.cache.cachedShare
    const warm = list[0]?.warmCachedShare
    const evidence = warm !== null && warm !== undefined
      ? `; server-reported cached prompt tokens ${cold === null || cold === undefined ? 'n/a' : pct(cold)} → ${pct(warm)}`
      : '; the server reports no cached-token counts'
    lines.push(`  Concurrency ${level}: ${parts.join(', ')}${evidence}`)
  }
  return lines.join('\n')
}

function pct(share: number): string {
  return `${(share * 100).toFixed(2)}%`
}

/** One line per kind of request that succeeded in an unusual way (README, Real servers). */
function noteLines(round: RoundResult): string[] {
  const { resent = 0, noDoneMarker = 0, notStreamed = 0 } = round.notes ?? {}
  const lines: string[] = []
  if (resent > 0) lines.push(`Note: ${resent} request(s) re-sent on a new connection: the server closed the reused one before answering (timed from the first send)`)
  if (noDoneMarker > 0) lines.push(`Note: ${noDoneMarker} stream(s) ended after their finish chunk without data: [DONE] (accepted)`)
  if (notStreamed > 0) lines.push(`Warning: ${notStreamed} streaming request(s) were answered with one JSON body: measured as non-streamed (TTFT = latency, no ITL)`)
  const noAnswer = round.notes?.noAnswer ?? 0
  if (noAnswer > 0) lines.push(`Warning: ${noAnswer} request(s) reasoned and never answered (max_tokens reached while thinking?): they have no TTFAT, and a ttfat SLO fails`)
  if (round.toolCalls) lines.push(`Tool calls: ${round.toolCalls.calls} in ${round.toolCalls.requests} answer(s)`)
  return lines
}
