import type { ErrorSummary, GoodputSummary, MetricName, RequestRecord, RoundResult } from '../types.ts'
import { MetricRecorder } from './histogram.ts'

/** Identity of the group being summarised. */
export interface RoundIdentity {
  label: string
  concurrency: number
  round: number
}

/**
 * Summarises one group of requests. Time metrics are over successful requests; ITL is the distribution
 * of every gap between consecutive content chunks, a chunk that carried k tokens contributing k gaps of
 * gap/k (`itlChunk` keeps the raw per-chunk gaps). Throughput divides by the wall time from the first
 * start to the last end. With `meetsSlo` (the per-request SLO rule) the round also gets goodput.
 */
export function summariseRound(id: RoundIdentity, records: readonly RequestRecord[], meetsSlo?: (r: RequestRecord) => boolean): RoundResult {
  const recorders: Record<MetricName, MetricRecorder> = {
    ttft: new MetricRecorder(),
    itl: new MetricRecorder(),
    itlChunk: new MetricRecorder(),
    tpot: new MetricRecorder(),
    latency: new MetricRecorder(),
    inputTokens: new MetricRecorder(1),
    outputTokens: new MetricRecorder(1),
  }
  let firstStart = Infinity
  let lastEnd = -Infinity
  let succeeded = 0
  let inputTokens = 0
  let outputTokens = 0
  let promptTokensReported = 0
  let cachedTokens = 0
  let reportedBy = 0
  const errors = new Map<string, ErrorSummary>()
  let goodRequests = 0
  let goodTokens = 0

  for (const r of records) {
    firstStart = Math.min(firstStart, r.startedAt)
    lastEnd = Math.max(lastEnd, r.startedAt + r.latencyMs)
    if (!r.ok) {
      const kind = r.error?.kind ?? 'other'
      const seen = errors.get(kind)
      if (seen) seen.count++
      else errors.set(kind, { kind, count: 1, firstMessage: r.error?.message ?? '' })
      continue
    }
    succeeded++
    inputTokens += r.inputTokens
    outputTokens += r.outputTokens
    recorders.inputTokens.record(r.inputTokens)
    recorders.outputTokens.record(r.outputTokens)
    recorders.latency.record(r.latencyMs)
    if (r.ttftMs !== null) recorders.ttft.record(r.ttftMs)
    if (r.tpotMs !== null) recorders.tpot.record(r.tpotMs)
    recordGaps(r, recorders.itl, recorders.itlChunk)
    if (r.cachedTokens !== null) {
      reportedBy++
      cachedTokens += r.cachedTokens
      promptTokensReported += r.inputTokens
    }
    if (meetsSlo?.(r)) {
      goodRequests++
      goodTokens += r.outputTokens
    }
  }

  const durationS = records.length === 0 ? 0 : Math.max(0, (lastEnd - firstStart) / 1000)
  const perS = (n: number): number => (durationS > 0 ? n / durationS : 0)
  const metrics: RoundResult['metrics'] = {}
  const histograms: RoundResult['histograms'] = {}
  for (const [name, rec] of Object.entries(recorders) as [MetricName, MetricRecorder][]) {
    metrics[name] = rec.summary()
    histograms[name] = rec.encode()
  }
  const round: RoundResult = {
    label: id.label,
    concurrency: id.concurrency,
    round: id.round,
    total: records.length,
    succeeded,
    failed: records.length - succeeded,
    durationS,
    avgInputTokens: succeeded ? inputTokens / succeeded : 0,
    avgOutputTokens: succeeded ? outputTokens / succeeded : 0,
    metrics,
    histograms,
    throughput: { requestsPerS: perS(succeeded), outputTokensPerS: perS(outputTokens), inputTokensPerS: perS(inputTokens) },
    cache: {
      promptTokens: promptTokensReported,
      cachedTokens,
      cachedShare: reportedBy > 0 && promptTokensReported > 0 ? cachedTokens / promptTokensReported : null,
      reportedBy,
    },
    errors: [...errors.values()].sort((a, b) => b.count - a.count),
  }
  if (meetsSlo) round.goodput = goodput(goodRequests, records.length, goodTokens, outputTokens, durationS)
  return round
}

function recordGaps(r: RequestRecord, itl: MetricRecorder, itlChunk: MetricRecorder): void {
  const offsets = r.chunkOffsetsMs
  const tokens = r.chunkTokens
  for (let i = 1; i < offsets.length; i++) {
    const gap = (offsets[i] as number) - (offsets[i - 1] as number)
    itlChunk.record(gap)
    const k = tokens ? (tokens[i] ?? 1) : 1
    if (k <= 1) itl.record(gap)
    else for (let j = 0; j < k; j++) itl.record(gap / k)
  }
}

function goodput(requests: number, totalRequests: number, tokens: number, totalTokens: number, durationS: number): GoodputSummary {
  return {
    requests,
    totalRequests,
    requestShare: totalRequests ? requests / totalRequests : 0,
    tokens,
    totalTokens,
    tokenShare: totalTokens ? tokens / totalTokens : 0,
    requestsPerS: durationS > 0 ? requests / durationS : 0,
    tokensPerS: durationS > 0 ? tokens / durationS : 0,
  }
}
