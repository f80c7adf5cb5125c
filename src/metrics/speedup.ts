import type { CacheSpeedup, MetricName, RoundResult, StatName } from '../types.ts'

/**
 * Cold / warm ratio of one statistic. A ratio of 2 means the warm group was twice as fast. When either
 * group has no sample of the metric (no successful request) the ratio is null with the reason: a
 * statistic of nothing is n/a, never 0.
 */
export function speedupOf(cold: RoundResult, warm: RoundResult, metric: MetricName, stat: StatName): CacheSpeedup {
  const c = cold.metrics[metric]
  const w = warm.metrics[metric]
  const out: CacheSpeedup = {
    concurrency: warm.concurrency,
    metric,
    stat,
    cold: c?.[stat] ?? 0,
    warm: w?.[stat] ?? 0,
    ratio: null,
    warmCachedShare: warm.cache.cachedShare,
  }
  const empty = [cold, warm].find((r) => (r.metrics[metric]?.count ?? 0) === 0)
  if (empty) out.reason = `${noSamplesReason(empty, metric)} in ${empty.label}`
  else if (out.warm <= 0) out.reason = `the warm ${metric} ${stat} is 0`
  else out.ratio = out.cold / out.warm
  return out
}

/**
 * Why a round has no samples of a metric, for an "n/a (...)" cell: `no requests`, `no successful requests
 * (4 failed)`, or what the metric needs (`no request had 2+ output tokens` for TPOT).
 */
export function noSamplesReason(round: Pick<RoundResult, 'total' | 'succeeded' | 'failed'>, metric: MetricName): string {
  if (round.total === 0) return 'no requests'
  if (round.succeeded === 0) return `no successful requests (${round.failed} failed)`
  switch (metric) {
    case 'tpot': return 'no request had 2+ output tokens'
    case 'itl':
    case 'itlChunk': return 'no request had 2+ content chunks'
    case 'ttft': return 'no request received content'
    default: return `no ${metric} samples`
  }
}

/** Round 1 / round 2 TTFT mean and p50 for every concurrency level that has both rounds. */
export function dualRoundSpeedups(rounds: readonly RoundResult[]): CacheSpeedup[] {
  const out: CacheSpeedup[] = []
  for (const warm of rounds) {
    if (warm.round !== 2) continue
    const cold = rounds.find((r) => r.round === 1 && r.concurrency === warm.concurrency)
    if (!cold) continue
    out.push(speedupOf(cold, warm, 'ttft', 'avg'), speedupOf(cold, warm, 'ttft', 'p50'))
  }
  return out
}
