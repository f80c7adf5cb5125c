import type { CapacityResult, CapacityStep } from '../types.ts'
import { csvCell } from './csv.ts'

/** The unit of a sweep's load. */
function unitOf(capacity: CapacityResult): string {
  return capacity.over === 'rate' ? 'req/s' : 'in flight'
}

function loadText(capacity: CapacityResult, step: CapacityStep): string {
  if (step.phase === 'probe') return '1 at a time'
  return capacity.over === 'rate' ? step.load.toFixed(2) : String(step.load)
}

function ms(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : n >= 100 ? n.toFixed(0) : n.toFixed(1)
}

/** `value [low, high]` of a check: the statistic with its confidence interval where it has one. */
function withInterval(c: CapacityStep['checks'][number]): string {
  if (c.observed === null) return `n/a (${c.reason ?? 'no value'})`
  const v = Math.abs(c.observed) < 1 && c.metric !== 'ttft' ? c.observed.toFixed(3) : ms(c.observed)
  if (c.low === null || c.high === null) return v
  return `${v} [${ms(c.low)}, ${ms(c.high)}]`
}

/** One short verdict per step: PASS, FAIL (the terms that failed), SATURATED, CLIENT SATURATED. */
export function stepVerdict(step: CapacityStep): string {
  if (step.clientSaturated) return 'CLIENT SATURATED'
  if (step.saturation?.saturated) return 'SATURATED'
  if (step.pass) return 'pass'
  const failed = step.checks.filter((c) => !c.pass).map((c) => `${c.metric} ${c.expression}`)
  return `FAIL ${failed.join('; ')}`
}

/**
 * The capacity table the console shows: one row per step (load, sent rate, requests, output tokens/s, TTFT
 * p50/p99, latency p99, each SLO term with its confidence interval, verdict and why the step ended), then the finding.
 */
export function formatCapacity(capacity: CapacityResult): string {
  const terms = capacity.steps[0]?.checks.map((c) => `${c.metric} ${c.statistic}`) ?? []
  const head = ['step', `load (${unitOf(capacity)})`, 'sent/s', 'requests', 'out tok/s', 'TTFT p50', 'TTFT p99', 'latency p99', ...terms, 'result', 'ended']
  const rows = capacity.steps.map((s) => [
    `${s.step} ${s.phase}`,
    loadText(capacity, s),
    s.achievedRate.toFixed(2),
    String(s.round.total),
    s.round.throughput.outputTokensPerS.toFixed(0),
    ms(s.round.metrics.ttft?.p50),
    ms(s.round.metrics.ttft?.p99),
    ms(s.round.metrics.latency?.p99),
    ...s.checks.map(withInterval),
    stepVerdict(s),
    s.ended,
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()
  const confidence = `${Math.round(capacity.settings.confidence * 100)} %`
  return [
    `Capacity sweep over ${capacity.over} (times in ms; [low, high] is the ${confidence} confidence interval of each SLO statistic)`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `Capacity: ${capacity.summary}`,
  ].join('\n')
}

/** `capacity.csv`: one row per step, with the SLO statistics and their intervals, for a spreadsheet or a plot. */
export function capacityCsv(capacity: CapacityResult): string {
  const terms = capacity.steps[0]?.checks ?? []
  const head = ['step', 'phase', 'load', 'pass', 'ended', 'achieved_rate', 'requests', 'failed', 'duration_s', 'requests_per_s', 'output_tokens_per_s', 'goodput_requests_per_s',
    'ttft_p50_ms', 'ttft_p90_ms', 'ttft_p99_ms', 'tpot_p50_ms', 'tpot_p99_ms', 'itl_p99_ms', 'latency_p50_ms', 'latency_p99_ms', 'saturated', 'client_saturated',
    ...terms.flatMap((c) => [`${c.metric} ${c.statistic}`, `${c.metric} ${c.statistic} low`, `${c.metric} ${c.statistic} high`, `${c.metric} ${c.statistic} pass`])]
  const n = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(Math.round(v * 1000) / 1000))
  const rows = capacity.steps.map((s) => {
    const m = s.round.metrics
    return [String(s.step), s.phase, n(s.load), String(s.pass), s.ended, n(s.achievedRate), String(s.round.total), String(s.round.failed), n(s.durationS),
      n(s.round.throughput.requestsPerS), n(s.round.throughput.outputTokensPerS), n(s.round.goodput?.requestsPerS), n(m.ttft?.p50), n(m.ttft?.p90), n(m.ttft?.p99),
      n(m.tpot?.p50), n(m.tpot?.p99), n(m.itl?.p99), n(m.latency?.p50), n(m.latency?.p99), String(s.saturation?.saturated ?? false), String(s.clientSaturated),
      ...s.checks.flatMap((c) => [n(c.observed), n(c.low), n(c.high), String(c.pass)])]
  })
  return [head, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n'
}
