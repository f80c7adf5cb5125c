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
    ttfat: new MetricRecorder(),
    answerTokens: new MetricRecorder(1),
    reasoningTime: new MetricRecorder(),
    reasoningTokens: new MetricRecorder(1),
    reasoningItl: new MetricRecorder(),
    answerItl: new MetricRecorder(),
    reasoningTpot: new MetricRecorder(),
    answerTpot: new MetricRecorder(),
  }
  private toolCallRequests = 0
  /** Successful requests that reasoned and never answered (thinking cut by max_tokens): no TTFAT to record. */
  private noAnswer = 0
  private toolCalls = 0
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
    // Records written before fluxperf 0.2 have no ttfatMs: their answers began at their first token.
    const ttfat = r.ttfatMs === undefined ? r.ttftMs : r.ttfatMs
    if (ttfat !== null) rec.ttfat.record(ttfat)
    else if (r.reasoning !== undefined) this.noAnswer++
    const answerTokens = Math.max(0, r.outputTokens - (r.reasoning?.tokens ?? 0))
    rec.answerTokens.record(answerTokens)
    if (r.reasoning !== undefined) recordReasoning(r, ttfat, answerTokens, rec)
    if (r.toolCalls !== undefined) {
      this.toolCallRequests++
      this.toolCalls += r.toolCalls.count
    }
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
      // The answer and reasoning metrics are there when something was measured (a model that does not reason has none).
      if (!ALWAYS.has(name) && rec.count === 0) continue
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
    if (this.toolCallRequests > 0) round.toolCalls = { requests: this.toolCallRequests, calls: this.toolCalls }
    if (this.failedRequests.length > 0) round.failedRequests = [...this.failedRequests]
    const notes = { resent: this.resent, noDoneMarker: this.noDoneMarker, notStreamed: this.notStreamed, noAnswer: this.noAnswer }
    if (notes.resent + notes.noDoneMarker + notes.notStreamed + notes.noAnswer > 0) round.notes = Object.fromEntries(Object.entries(notes).filter(([, n]) => n > 0))
    if (this.meetsSlo) round.goodput = goodput(this.goodRequests, total, this.goodTokens, this.outputTokens, durationS)
    return round
  }
}

/** The metrics every round reports, measured or not (the others only when measured). */
const ALWAYS = new Set<MetricName>(['ttft', 'itl', 'itlChunk', 'tpot', 'latency', 'inputTokens', 'outputTokens'])

/**
 * The two phases of an answer that reasoned: reasoning time and tokens, and per phase the gaps between
 * consecutive chunks (per token, as ITL) and the time per token. The gap from the last reasoning chunk to the
 * first answer chunk belongs to neither phase (it is the answer's first token). Definitions:
 * docs/design/reasoning.md.
 */
function recordReasoning(r: RequestRecord, ttfat: number | null, answerTokens: number, rec: Record<MetricName, MetricRecorder>): void {
  const phase = r.reasoning as NonNullable<RequestRecord['reasoning']>
  rec.reasoningTokens.record(phase.tokens)
  if (phase.timeMs !== null) {
    rec.reasoningTime.record(phase.timeMs)
    if (phase.tokens > 0) rec.reasoningTpot.record(phase.timeMs / phase.tokens)
  }
  recordPhaseGaps(r, 1, phase.chunks, rec.reasoningItl)
  recordPhaseGaps(r, phase.chunks + 1, r.chunkOffsetsMs.length, rec.answerItl)
  if (ttfat !== null && answerTokens > 1 && r.chunkOffsetsMs.length - phase.chunks > 1) rec.answerTpot.record((r.latencyMs - ttfat) / (answerTokens - 1))
}

/** Per-token gaps ending at chunks `from … to-1` (a chunk of k tokens adds k gaps of gap/k). */
function recordPhaseGaps(r: RequestRecord, from: number, to: number, into: MetricRecorder): void {
  const offsets = r.chunkOffsetsMs
  const tokens = r.chunkTokens
  for (let i = Math.max(1, from); i < to; i++) {
    const gap = (offsets[i] as number) - (offsets[i - 1] as number)
    const k = tokens ? Math.max(1, tokens[i] ?? 1) : 1
    for (let j = 0; j < k; j++) into.record(gap / k)
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
