import { percentileOfEncoded } from '../metrics/histogram.ts'
import type { MetricName, RoundResult } from '../types.ts'
import { histogramScale } from './metrics.ts'
import type { SloTerm } from './spec.ts'

/** What a round measured for a term, or why it has no value. */
export type Observation = { value: number } | { value: null; reason: string }

const FIXED_PERCENTILES: Readonly<Record<number, 'p50' | 'p90' | 'p95' | 'p99'>> = { 50: 'p50', 90: 'p90', 95: 'p95', 99: 'p99' }

/**
 * The observed value of `term` on `round`. Distribution metrics read `round.metrics[metric]`
 * (med = p50; p(50|90|95|99) from the summary; p(100) = the exact max; other percentiles from the
 * round's HDR histogram); `errorRate` = failed / total; `goodput` = `goodput.requestShare`;
 * `throughput` = output tokens/s; `requestThroughput` = requests/s; `goodputThroughput` = goodput requests/s.
 * A metric the round lacks (missing, or no samples except for `count`) has no value.
 */
export function observe(round: RoundResult, term: SloTerm): Observation {
  switch (term.metric) {
    case 'errorRate':
      return round.total === 0 ? noRequests() : { value: round.failed / round.total }
    case 'goodput':
    case 'goodputThroughput': {
      if (!round.goodput) return { value: null, reason: 'run has no goodput (no per-request SLO given)' }
      if (round.total === 0) return noRequests()
      return { value: term.metric === 'goodput' ? round.goodput.requestShare : round.goodput.requestsPerS }
    }
    case 'throughput':
      return round.total === 0 ? noRequests() : { value: round.throughput.outputTokensPerS }
    case 'requestThroughput':
      return round.total === 0 ? noRequests() : { value: round.throughput.requestsPerS }
    default:
      return distribution(round, term, term.metric)
  }
}

function distribution(round: RoundResult, term: SloTerm, metric: MetricName): Observation {
  // A request that never answered has no TTFAT, not a small one: leaving it out could pass a limit it broke.
  const noAnswer = round.notes?.noAnswer ?? 0
  if (metric === 'ttfat' && noAnswer > 0 && term.aggregation !== 'count') {
    return { value: null, reason: `${noAnswer} request(s) reasoned and never answered (raise max_tokens), so their time to first answer token is unknown` }
  }
  const summary = round.metrics[metric]
  if (!summary) return { value: null, reason: missing(round, metric) }
  if (term.aggregation === 'count') return { value: summary.count }
  if (summary.count === 0) {
    return { value: null, reason: round.total === 0 ? 'round has no requests' : `no ${metric} samples (${round.succeeded} of ${round.total} requests succeeded)` }
  }
  switch (term.aggregation) {
    case 'avg': return { value: summary.avg }
    case 'min': return { value: summary.min }
    case 'max': return { value: summary.max }
    case 'med': return { value: summary.p50 }
    case 'stddev': return { value: summary.stddev }
    case 'p': return percentile(round, metric, term.percentile ?? 100)
    default: return { value: null, reason: `aggregation ${term.aggregation} does not apply to ${metric}` }
  }
}

function percentile(round: RoundResult, metric: MetricName, p: number): Observation {
  const summary = round.metrics[metric]
  if (!summary) return { value: null, reason: `round has no ${metric} metric` }
  if (p === 100) return { value: summary.max }
  const fixed = FIXED_PERCENTILES[p]
  // Kept within the exact extremes (results written before percentiles were clamped may exceed max).
  if (fixed) return { value: Math.min(summary.max, Math.max(summary.min, summary[fixed])) }
  const encoded = round.histograms[metric]
  if (!encoded) return { value: null, reason: `round has no ${metric} histogram for p(${p})` }
  try {
    // HDR reports the highest value equivalent to the bucket; keep it within the exact min and max.
    const value = percentileOfEncoded(encoded, p, histogramScale(metric))
    return { value: Math.min(summary.max, Math.max(summary.min, value)) }
  } catch (error) {
    return { value: null, reason: `${metric} histogram cannot be decoded (${(error as Error).message})` }
  }
}

/** Why a round has no such metric: the reasoning metrics exist only when a request reasoned. */
function missing(round: RoundResult, metric: MetricName): string {
  if (round.succeeded > 0 && (metric.startsWith('reasoning') || metric === 'answerItl' || metric === 'answerTpot')) {
    return `no request reasoned, so there is no ${metric} (the server streamed no reasoning; for <think> tags in the content use --reasoning-tags)`
  }
  return `round has no ${metric} metric`
}

function noRequests(): Observation {
  return { value: null, reason: 'round has no requests' }
}
