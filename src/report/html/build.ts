import { decodeHistogram } from '../../metrics/index.ts'
import { evaluateSlo, parseSlo } from '../../slo/index.ts'
import type { CapacityResult, MetricSummary, RunResult } from '../../types.ts'
import { VERSION } from '../../version.ts'
import { DATA_PLACEHOLDER, REPORT_DATA_VERSION } from './data.ts'
import { TimedRequestLog } from './timedRequests.ts'
import type { TimedRequest } from './timedRequests.ts'
import type { ReportCapacity, ReportComparison, ReportData, ReportMetric, ReportRound, ReportRun, ReportTimeline, ReportVerdict } from './data.ts'

/** One run to draw: its result, a legend name, and its saved requests when there are any. */
export interface ReportInput {
  name: string
  run: RunResult
  /** The run's per-request records (`--save-requests`), in any order; only the timing fields are read. */
  requests?: Iterable<TimedRequest>
}

/** How many points a drawn series may hold before it is down-sampled (numbers shown are never down-sampled). */
export const MAX_DRAWN_POINTS = 20_000

const METRICS: readonly ReportMetric[] = ['ttft', 'ttfat', 'reasoningTime', 'itl', 'tpot', 'latency']
/** Shares at which a CDF is sampled: even in the body, dense in the tail, where latency problems live. */
const CDF_PERCENTILES = [
  0, 1, 2.5, 5, 7.5, ...Array.from({ length: 18 }, (_, i) => 10 + i * 5), 95, 96, 97, 98, 99, 99.5, 99.9, 99.99, 100,
]

/**
 * The report's data for one or more runs (and the comparison of the first two, when given; or the capacity sweep
 * whose steps the runs are).
 */
export function reportData(inputs: ReportInput[], comparison?: ReportComparison, generatedAt = new Date(), capacity?: CapacityResult): ReportData {
  const names = uniqueNames(inputs.map((i) => i.name))
  return {
    version: REPORT_DATA_VERSION,
    tool: `fluxperf ${VERSION}`,
    generatedAt: generatedAt.toISOString(),
    runs: inputs.map((input, i) => reportRun({ ...input, name: names[i] as string })),
    ...(comparison ? { comparison } : {}),
    ...(capacity ? { capacity: capacityOf(capacity) } : {}),
  }
}

/** A sweep's finding and steps, with the statistics the capacity charts draw (exact, from each step's summaries). */
export function capacityOf(c: CapacityResult): ReportCapacity {
  const three = (m: MetricSummary | undefined): { p50: number; p90: number; p99: number } | null => (m && m.count > 0 ? { p50: m.p50, p90: m.p90, p99: m.p99 } : null)
  return {
    over: c.over,
    unit: c.over === 'rate' ? 'requests/s' : 'requests in flight',
    capacity: c.capacity,
    failedAt: c.failedAt,
    stopReason: c.stopReason,
    summary: c.summary,
    confidence: c.settings.confidence,
    steps: c.steps.map((s) => ({
      step: s.step, phase: s.phase, load: s.load, pass: s.pass, ended: s.ended, why: s.why, achievedRate: s.achievedRate, requests: s.round.total,
      verdict: s.clientSaturated ? 'CLIENT SATURATED' : s.saturation?.saturated ? 'SATURATED' : s.pass ? 'pass' : `FAIL ${s.checks.filter((x) => !x.pass).map((x) => `${x.metric} ${x.expression}`).join('; ')}`,
      requestsPerS: s.round.throughput.requestsPerS, outputTokensPerS: s.round.throughput.outputTokensPerS, goodputPerS: s.round.goodput?.requestsPerS ?? null,
      ttft: three(s.round.metrics.ttft), latency: three(s.round.metrics.latency),
      checks: s.checks.map((x) => ({ metric: x.metric, expression: x.expression, observed: x.observed, low: x.low, high: x.high === null || Number.isFinite(x.high) ? x.high : null, pass: x.pass })),
    })),
  }
}

function reportRun({ name, run, requests }: ReportInput): ReportRun {
  const out: ReportRun = {
    name,
    workload: run.workload,
    model: run.model,
    endpoint: run.endpoint,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    seed: run.seed,
    settings: settingsOf(run),
    clientSaturated: run.client.saturated,
    interrupted: run.interrupted,
    verdict: verdictOf(run),
    rounds: run.rounds.map(roundOf),
  }
  if (run.workload === 'multi-turn' || run.workload === 'multi-round-qa') {
    out.byTurn = run.byTurn.map((t) => ({
      turn: t.turn, requests: t.ttft.count, ttftP50: valueOf(t.ttft.count, t.ttft.p50), ttftP90: valueOf(t.ttft.count, t.ttft.p90), latencyP50: valueOf(t.latency.count, t.latency.p50),
    }))
  }
  if (requests) {
    const timeline = timelineOf(requests)
    if (timeline) out.timeline = timeline
  }
  if (run.prometheus && Object.keys(run.prometheus).length > 0) {
    out.prometheus = Object.entries(run.prometheus).map(([label, p]) => ({
      label,
      values: {
        ...Object.fromEntries(Object.entries(p.gauges).map(([k, g]) => [`${k} (mean)`, g.avg])),
        ...Object.fromEntries(Object.entries(p.counters).map(([k, c]) => [`${k} (per s)`, c.ratePerS])),
        ...(p.prefixCacheHitRate !== undefined ? { 'prefix cache hit rate': p.prefixCacheHitRate } : {}),
      },
    }))
  }
  return out
}

const valueOf = (count: number, value: number): number | null => (count > 0 ? value : null)

/** The settings a reader needs to tell runs apart, as text. */
function settingsOf(run: RunResult): Record<string, string> {
  const keys = ['dataset', 'concurrency', 'samples', 'maxOutputTokens', 'qps', 'numUsers', 'numRounds', 'conversations', 'turns', 'parallel', 'documents', 'time']
  const settings: Record<string, string> = {}
  for (const key of keys) {
    const value = run.config[key]
    if (value === undefined || value === null) continue
    settings[key] = Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value)
  }
  if (run.engine) settings['engine'] = run.engine.name
  return settings
}

/** Every SLO term on every round, and what else failed the run. */
function verdictOf(run: RunResult): ReportVerdict {
  const problems: string[] = []
  const failed = run.rounds.reduce((n, r) => n + r.failed, 0)
  const total = run.rounds.reduce((n, r) => n + r.total, 0)
  if (failed > 0) problems.push(`${failed} of ${total} requests failed`)
  if (total === 0) problems.push('no request was sent')
  if (run.client.saturated) problems.push(`the client was saturated (event-loop delay p99 ${run.client.eventLoopDelayP99Ms.toFixed(1)} ms > ${run.client.boundMs} ms): timings are not trustworthy`)
  if (run.interrupted) problems.push('the run was interrupted')
  if (!run.slo) return { passed: null, checks: [], problems }
  const checks = evaluateSlo(run, parseSlo(run.slo, 'run.json slo')).map((c) => ({
    round: c.label,
    metric: c.metric,
    statistic: c.statistic,
    observed: c.observed,
    limit: `${c.op} ${c.limit}`,
    pass: c.pass,
    ...(c.reason ? { note: c.reason } : c.perRequestKey ? { note: `per-request limit (${c.perRequestKey})` } : {}),
  }))
  return { passed: checks.every((c) => c.pass) && problems.length === 0, checks, problems }
}

function roundOf(round: RunResult['rounds'][number]): ReportRound {
  const stats: ReportRound['stats'] = {}
  const cdf: ReportRound['cdf'] = {}
  for (const metric of METRICS) {
    // TTFAT is TTFT when nothing reasoned: drawn only beside a reasoning time.
    if (metric === 'ttfat' && !round.metrics.reasoningTime) continue
    const summary = round.metrics[metric]
    if (summary && summary.count > 0) {
      stats[metric] = { avg: summary.avg, p50: summary.p50, p90: summary.p90, p99: summary.p99, min: summary.min, max: summary.max, count: summary.count }
    }
    const encoded = round.histograms[metric]
    if (encoded && summary && summary.count > 0) cdf[metric] = cdfOf(encoded, summary.min, summary.max)
  }
  return {
    label: round.label,
    concurrency: round.concurrency,
    round: round.round,
    total: round.total,
    succeeded: round.succeeded,
    failed: round.failed,
    durationS: round.durationS,
    requestsPerS: round.throughput.requestsPerS,
    outputTokensPerS: round.throughput.outputTokensPerS,
    goodput: round.goodput?.requestShare ?? null,
    cachedShare: round.cache.cachedShare,
    errors: round.errors.map((e) => ({ kind: e.kind, count: e.count })),
    stats,
    cdf,
  }
}

/** The CDF of a stored histogram (µs) in ms, kept within the exact min and max as the summaries are. */
function cdfOf(encoded: string, min: number, max: number): { ms: number[]; share: number[] } {
  const histogram = decodeHistogram(encoded)
  const ms: number[] = []
  const share: number[] = []
  for (const p of CDF_PERCENTILES) {
    const value = p === 0 ? min : p === 100 ? max : Math.min(max, Math.max(min, histogram.getValueAtPercentile(p) / 1000))
    // A CDF never steps back: HDR's bucket equivalence can return a value below the previous one.
    ms.push(Math.max(value, ms.at(-1) ?? value))
    share.push(p / 100)
  }
  return { ms, share }
}

/**
 * Requests over time: in flight, TTFT, schedule lag and errors, down-sampled for drawing only. Read from a
 * `TimedRequestLog` in two passes (the span, then the series) so that a run of a million requests costs the
 * report 8 bytes a request beyond the log, not a copy of every time (docs/performance.md, "The timeline's log").
 */
export function timelineOf(requests: Iterable<TimedRequest>, maxPoints = MAX_DRAWN_POINTS): ReportTimeline | undefined {
  const log = requests instanceof TimedRequestLog ? requests : TimedRequestLog.from(requests)
  let count = 0
  let ttftCount = 0
  let lagCount = 0
  let t0 = Infinity
  let t1 = -Infinity
  log.forEach((startedAt, latencyMs, ttftMs, scheduledAt) => {
    if (!Number.isFinite(startedAt)) return
    count++
    if (startedAt < t0) t0 = startedAt
    const end = startedAt + (Number.isFinite(latencyMs) ? latencyMs : 0)
    if (end > t1) t1 = end
    if (Number.isFinite(ttftMs)) ttftCount++
    if (!Number.isNaN(scheduledAt)) lagCount++
  })
  if (count === 0) return undefined
  const span = Math.max(t1 - t0, 1)
  const downsampled = count > maxPoints
  // Times from t0; past maxPoints only bucket peaks are drawn, so float32 (under 8 µs off in a 2-minute run) does.
  const bucketed = count * 2 > maxPoints
  const starts = bucketed ? new Float32Array(count) : new Float64Array(count)
  const ends = bucketed ? new Float32Array(count) : new Float64Array(count)
  const ttft = new Envelope(ttftCount, t0, span, maxPoints)
  const lag = new Envelope(lagCount, t0, span, maxPoints)
  const errorAt: number[] = []
  const errorKind: string[] = []
  let i = 0
  log.forEach((startedAt, latencyMs, ttftMs, scheduledAt, failure) => {
    if (!Number.isFinite(startedAt)) return
    starts[i] = startedAt - t0
    ends[i++] = startedAt + (Number.isFinite(latencyMs) ? latencyMs : 0) - t0
    if (Number.isFinite(ttftMs)) ttft.add(startedAt, ttftMs)
    if (!Number.isNaN(scheduledAt)) lag.add(scheduledAt, startedAt - scheduledAt)
    if (failure !== undefined) {
      errorAt.push(startedAt)
      errorKind.push(failure)
    }
  })
  const timeline: ReportTimeline = {
    requests: count,
    inFlight: inFlightOf(starts, ends, span, maxPoints),
    ttft: ttft.points(),
    errors: errorsOf(errorAt, errorKind, t0, span),
    maxPoints,
    downsampled,
  }
  if (lagCount > 0) timeline.lag = lag.points()
  return timeline
}

/**
 * Requests in flight after every start and end, or, past `maxPoints` events, the highest count in each
 * of `maxPoints / 2` time buckets (the peaks are what a reader looks for). Times are from the first start;
 * sorts both arrays in place.
 */
function inFlightOf(starts: Float64Array | Float32Array, ends: Float64Array | Float32Array, span: number, maxPoints: number): { t: number[]; n: number[] } {
  // Typed-array sorts are native and numeric: a million requests sort in well under a second.
  starts.sort()
  ends.sort()
  const t: number[] = []
  const n: number[] = []
  const buckets = Math.max(1, Math.floor(maxPoints / 2))
  const bucketed = starts.length * 2 > maxPoints
  let current = 0
  let bucket = -1
  let i = 0
  let j = 0
  while (i < starts.length || j < ends.length) {
    // An end before a start at the same instant: a connection handed on is not two requests in flight.
    const isEnd = i >= starts.length || (j < ends.length && (ends[j] as number) <= (starts[i] as number))
    const time = isEnd ? (ends[j++] as number) : (starts[i++] as number)
    current += isEnd ? -1 : 1
    if (!bucketed) {
      t.push(time / 1000)
      n.push(current)
      continue
    }
    const b = Math.min(buckets - 1, Math.floor((time / span) * buckets))
    if (b !== bucket) {
      bucket = b
      t.push((b * span) / buckets / 1000)
      n.push(current)
    } else if (current > (n.at(-1) as number)) {
      n[n.length - 1] = current
    }
  }
  return { t, n }
}

/**
 * Points (time, value) of one series; past `maxPoints`, the lowest and highest value in each of `maxPoints / 2`
 * time buckets, so the cloud keeps its outline (every outlier bucket still shows its extreme). Told its size
 * up front, it keeps the points only when it will draw them all.
 */
class Envelope {
  private readonly at: Float64Array | null
  private readonly values: Float64Array | null
  private length = 0
  private readonly buckets: number
  private readonly low: Float64Array
  private readonly high: Float64Array
  private readonly t0: number
  private readonly span: number

  constructor(count: number, t0: number, span: number, maxPoints: number) {
    this.t0 = t0
    this.span = span
    const every = count <= maxPoints
    this.at = every ? new Float64Array(count) : null
    this.values = every ? new Float64Array(count) : null
    this.buckets = every ? 0 : Math.floor(maxPoints / 2)
    this.low = new Float64Array(this.buckets).fill(Infinity)
    this.high = new Float64Array(this.buckets).fill(-Infinity)
  }

  add(at: number, value: number): void {
    if (this.at && this.values) {
      this.at[this.length] = at
      this.values[this.length++] = value
      return
    }
    const b = Math.min(this.buckets - 1, Math.max(0, Math.floor(((at - this.t0) / this.span) * this.buckets)))
    if (value < (this.low[b] as number)) this.low[b] = value
    if (value > (this.high[b] as number)) this.high[b] = value
  }

  points(): { t: number[]; ms: number[] } {
    const { at, values, t0 } = this
    if (at && values) {
      const order = Array.from({ length: this.length }, (_, i) => i).sort((a, b) => (at[a] as number) - (at[b] as number))
      return { t: order.map((i) => ((at[i] as number) - t0) / 1000), ms: order.map((i) => values[i] as number) }
    }
    const t: number[] = []
    const ms: number[] = []
    for (let b = 0; b < this.buckets; b++) {
      const low = this.low[b] as number
      const high = this.high[b] as number
      if (low === Infinity) continue
      const at0 = (b * this.span) / this.buckets / 1000
      t.push(at0)
      ms.push(low)
      if (high !== low) {
        t.push(at0)
        ms.push(high)
      }
    }
    return { t, ms }
  }
}

/** Failed requests per kind in 100 time buckets (counts are exact; the buckets are the drawing). */
function errorsOf(at: number[], kinds: string[], t0: number, span: number): ReportTimeline['errors'] {
  const buckets = 100
  const t = Array.from({ length: buckets }, (_, b) => (b * span) / buckets / 1000)
  const byKind: Record<string, number[]> = {}
  for (let i = 0; i < at.length; i++) {
    const kind = kinds[i] as string
    const series = (byKind[kind] ??= new Array<number>(buckets).fill(0))
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((((at[i] as number) - t0) / span) * buckets)))
    series[b] = (series[b] as number) + 1
  }
  return { t, byKind }
}

/** Legend names made unique: a second `results` becomes `results (2)`. */
function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>()
  return names.map((name) => {
    const n = (seen.get(name) ?? 0) + 1
    seen.set(name, n)
    return n === 1 ? name : `${name} (${n})`
  })
}

/**
 * The report page: the viewer's template with the data embedded. `<`, `>` and `&` are escaped in the JSON so
 * no string from a run (a model name, an error message) can close the script element or open another.
 */
export function reportHtml(template: string, data: ReportData): string {
  const at = template.indexOf(DATA_PLACEHOLDER)
  if (at < 0) throw new Error('the report template has no data placeholder')
  const json = JSON.stringify(data).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
  return template.slice(0, at) + json + template.slice(at + DATA_PLACEHOLDER.length)
}
