import type { CacheSpeedup, MetricName, RoundResult, StatName } from '../types.ts'

/**
 * Cold / warm ratio of one statistic. A ratio of 2 means the warm group was twice as fast.
 * 0 when the warm value is 0 (nothing measured).
 */
export function speedupOf(cold: RoundResult, warm: RoundResult, metric: MetricName, stat: StatName): CacheSpeedup {
  const c = cold.metrics[metric]?.[stat] ?? 0
  const w = warm.metrics[metric]?.[stat] ?? 0
  return {
    concurrency: warm.concurrency,
    metric,
    stat,
    cold: c,
    warm: w,
    ratio: w > 0 ? c / w : 0,
    warmCachedShare: warm.cache.cachedShare,
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
