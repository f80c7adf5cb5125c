import type { Slo } from '../types.ts'

/**
 * Metrics an SLO term can name. `itl` is the distribution of every gap between content chunks
 * (`itlChunk`: raw per-chunk gaps), `tpot` is per request (latency − TTFT) / (tokens − 1) — what the
 * Python tools call ITL and what `itl_ms` limits. Times are ms, token counts are tokens.
 */
export type SloMetric =
  | 'ttft' | 'itl' | 'itlChunk' | 'tpot' | 'latency' | 'inputTokens' | 'outputTokens'
  | 'ttfat' | 'answerTokens' | 'reasoningTime' | 'reasoningTokens' | 'reasoningItl' | 'answerItl' | 'reasoningTpot' | 'answerTpot'
  | 'errorRate' | 'goodput'
  | 'throughput' | 'requestThroughput' | 'goodputThroughput'

/** k6-style aggregations: `p` is `p(N)`, `med` the median, `rate` a share 0–1, `value` a single number. */
export type SloAggregation = 'avg' | 'min' | 'max' | 'med' | 'p' | 'rate' | 'value' | 'count' | 'stddev'

/** Comparison of a threshold expression. */
export type SloOp = '<' | '<=' | '>' | '>=' | '=='

/** One parsed threshold, e.g. `p(90) < 800` on `ttft`. */
export interface SloTerm {
  metric: SloMetric
  aggregation: SloAggregation
  /** The N of `p(N)`, in (0, 100]; only when `aggregation` is `p`. */
  percentile?: number
  op: SloOp
  limit: number
  /** The expression as written (trimmed), e.g. `p(90) < 800`. */
  expression: string
  /** Set when the term was derived from a Python-tool-shape per-request limit (`ttft_ms`, `itl_ms`, `tpot_ms`, `latency_ms`). */
  perRequestKey?: string
}

/**
 * Per-request limits in ms from the Python tools' YAML shape; a request meets them when every given value is
 * strictly below its limit. They define goodput. `tpotMs` comes from `itl_ms` or `tpot_ms`.
 */
export interface PerRequestSlo {
  ttftMs?: number
  tpotMs?: number
  latencyMs?: number
}

/**
 * Per-request limits as a workload's `goodputSlo` takes them, in either spelling: the Python tools' YAML keys
 * (`ttft_ms`, `tpot_ms` or `itl_ms`, `latency_ms`) or camelCase (`ttftMs`, `tpotMs` or `itlMs`, `latencyMs`).
 * Any other key is an error (see `parsePerRequestSlo`).
 */
export interface GoodputSlo extends PerRequestSlo {
  ttft_ms?: number
  tpot_ms?: number
  itl_ms?: number
  latency_ms?: number
  itlMs?: number
}

/** A validated SLO: per-request limits (goodput) plus aggregate threshold terms. */
export interface SloSpec {
  perRequest: PerRequestSlo
  terms: SloTerm[]
  /** The SLO in its plain, serialisable shape (for `RunResult.slo`): Python tools' keys plus `metric: [expressions]`. */
  source: Slo
  /** Where it came from: a file path, or `toMeetSlo`. */
  where: string
}

/** The outcome of one term on one round. */
export interface SloCheck {
  /** The round's label, e.g. `Concurrency4-Round1`. */
  label: string
  metric: SloMetric
  /** `avg`, `med`, `p(90)`, `max`, `rate`, `value`, ... */
  statistic: string
  /** What the round measured; null when it has no value for the metric (the check then fails). */
  observed: number | null
  op: SloOp
  limit: number
  pass: boolean
  /** Why a check failed without a comparison (missing metric, no goodput, no rounds), or a note. */
  reason?: string
  /** The term as written, e.g. `p(90) < 800`, or `max < 1000 (ttft_ms)` for a per-request limit. */
  expression: string
  /** Set when the check comes from a Python-tool-shape per-request limit (`ttft_ms`, `itl_ms`, ...). */
  perRequestKey?: string
}
