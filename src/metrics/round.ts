import type { CacheEvidence, ErrorKind, ErrorSummary, GoodputSummary, MetricName, RequestRecord, RoundResult } from '../types.ts'
import { MetricRecorder } from './histogram.ts'

/** Identity of the group being summarised. */
export interface RoundIdentity {
  label: string
  concurrency: number
  round: number
}

/**
 * Accumulates one group of requests as they complete, in constant memory (histograms, not arrays), so
 * a run of millions of requests only needs its records on disk. Time metrics are over successful
 * requests; ITL is the distribution of every gap between consecutive content chunks, a chunk that
 * carried k tokens contributing k gaps of gap/k (`itlChunk` keeps the raw per-chunk gaps). Throughput
 * divides by the wall time from the first start to the last end. With `meetsSlo` (the per-request SLO
 * rule) the round also gets goodput.
 */
export class RoundAccumulator {
  private readonly id: RoundIdentity
  private readonly meetsSlo: ((r: RequestRecord) => boolean) | undefined
  /**
   * Gaps of requests whose chunks carry one token each (the usual case): the same samples for ITL and
   * per-chunk ITL, so they are recorded once here and added to both at the end, not twice per chunk.
   */
  private readonly singleTokenGaps = new MetricRecorder()
  private readonly recorders: Record<MetricName, MetricRecorder> = {
    ttft: new MetricRecorder(),
    itl: new MetricRecorder(),
    itlChunk: new MetricRecorder(),
    tpot: new MetricRecorder(),
    latency: new MetricRecorder(),
    inputTokens: new MetricRecorder(1),
    outputTokens: new MetricRecorder(1),
  }
  private firstStart = Infinity
  private lastEnd = -Infinity
  private total = 0
  private succeeded = 0
  private inputTokens = 0
  private outputTokens = 0
  private readonly cache = new CacheTally()
  private readonly firstTurnCache = new CacheTally()
  private readonly failedRequests: { id: string; kind: ErrorKind }[] = []
  private resent = 0
  private noDoneMarker = 0
  private notStreamed = 0
  private goodRequests = 0
  private goodTokens = 0
  private readonly errors = new Map<string, ErrorSummary>()

  constructor(id: RoundIdentity, meetsSlo?: (r: RequestRecord) => boolean) {
    this.id = id
    this.meetsSlo = meetsSlo
  }

  add(r: RequestRecord): void {
    this.total++
    if (r.resent) this.resent++
    if (r.startedAt < this.firstStart) this.firstStart = r.startedAt
    const end = r.startedAt + r.latencyMs
    if (end > this.lastEnd) this.lastEnd = end
    if (!r.ok) {
      const kind = r.error?.kind ?? 'other'
      const seen = this.errors.get(kind)
      if (seen) seen.count++
      else this.errors.set(kind, { kind, count: 1, firstMessage: r.error?.message ?? '' })
      if (this.failedRequests.length < MAX_FAILED_IDS) this.failedRequests.push({ id: r.id, kind })
      return
    }
    const rec = this.recorders
    this.succeeded++
    this.inputTokens += r.inputTokens
    this.outputTokens += r.outputTokens
    rec.inputTokens.record(r.inputTokens)
    rec.outputTokens.record(r.outputTokens)
    rec.latency.record(r.latencyMs)
    if (r.ttftMs !== null) rec.ttft.record(r.ttftMs)
    if (r.tpotMs !== null) rec.tpot.record(r.tpotMs)
    recordGaps(r, this.singleTokenGaps, rec.itl, rec.itlChunk)
    if (r.noDoneMarker) this.noDoneMarker++
    if (r.streamed === false) this.notStreamed++
    if (r.cachedTokens !== null) {
      this.cache.add(r.inputTokens, r.cachedTokens)
      if (r.turnIndex === 0) this.firstTurnCache.add(r.inputTokens, r.cachedTokens)
    }
    if (this.meetsSlo?.(r)) {
      this.goodRequests++
      this.goodTokens += r.outputTokens
    }
  }

  finish(): RoundResult {
    const durationS = this.total === 0 ? 0 : Math.max(0, (this.lastEnd - this.firstStart) / 1000)
    const perS = (n: number): number => (durationS > 0 ? n / durationS : 0)
    this.recorders.itl.addAll(this.singleTokenGaps)
    this.recorders.itlChunk.addAll(this.singleTokenGaps)
    this.singleTokenGaps.reset()
    const metrics: RoundResult['metrics'] = {}
    const histograms: RoundResult['histograms'] = {}
    for (const [name, rec] of Object.entries(this.recorders) as [MetricName, MetricRecorder][]) {
      metrics[name] = rec.summary()
      histograms[name] = rec.encode()
    }
    const { succeeded, total } = this
    const round: RoundResult = {
      ...this.id,
      total,
      succeeded,
      failed: total - succeeded,
      durationS,
      avgInputTokens: succeeded ? this.inputTokens / succeeded : 0,
      avgOutputTokens: succeeded ? this.outputTokens / succeeded : 0,
      metrics,
      histograms,
      throughput: { requestsPerS: perS(succeeded), outputTokensPerS: perS(this.outputTokens), inputTokensPerS: perS(this.inputTokens) },
      cache: { ...this.cache.evidence(), firstTurns: this.firstTurnCache.evidence() },
      errors: [...this.errors.values()].sort((a, b) => b.count - a.count),
    }
    // Epoch bounds of the round: shards of one run merge their durations from them (fluxperf merge).
    if (total > 0) {
      round.firstStartMs = this.firstStart
      round.lastEndMs = this.lastEnd
    }
    if (this.failedRequests.length > 0) round.failedRequests = [...this.failedRequests]
    const notes = { resent: this.resent, noDoneMarker: this.noDoneMarker, notStreamed: this.notStreamed }
    if (notes.resent + notes.noDoneMarker + notes.notStreamed > 0) round.notes = Object.fromEntries(Object.entries(notes).filter(([, n]) => n > 0))
    if (this.meetsSlo) round.goodput = goodput(this.goodRequests, total, this.goodTokens, this.outputTokens, durationS)
    return round
  }
}

/** Failed request ids a round keeps (enough to name them in a message, bounded for huge runs). */
const MAX_FAILED_IDS = 20

/** Running sums of server-reported cached prompt tokens. */
class CacheTally {
  private promptTokens = 0
  private cachedTokens = 0
  private reportedBy = 0

  add(promptTokens: number, cachedTokens: number): void {
    this.reportedBy++
    this.promptTokens += promptTokens
    this.cachedTokens += cachedTokens
  }

  evidence(): CacheEvidence {
    const { promptTokens, cachedTokens, reportedBy } = this
    return { promptTokens, cachedTokens, cachedShare: reportedBy > 0 && promptTokens > 0 ? cachedTokens / promptTokens : null, reportedBy }
  }
}

/** Summarises a group of records at once (see {@link RoundAccumulator}). */
export function summariseRound(id: RoundIdentity, records: readonly RequestRecord[], meetsSlo?: (r: RequestRecord) => boolean): RoundResult {
  const acc = new RoundAccumulator(id, meetsSlo)
  for (const r of records) acc.add(r)
  return acc.finish()
}

/** ITL samples of one request: single-token chunks go to `single`; a chunk of k tokens adds k gaps of gap/k to `itl` and its raw gap to `itlChunk`. */
function recordGaps(r: RequestRecord, single: MetricRecorder, itl: MetricRecorder, itlChunk: MetricRecorder): void {
  const offsets = r.chunkOffsetsMs
  const tokens = r.chunkTokens
  for (let i = 1; i < offsets.length; i++) {
    const gap = (offsets[i] as number) - (offsets[i - 1] as number)
    const k = tokens ? (tokens[i] ?? 1) : 1
    if (k <= 1) {
      single.record(gap)
      continue
    }
    itlChunk.record(gap)
    for (let j = 0; j < k; j++) itl.record(gap / k)
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
