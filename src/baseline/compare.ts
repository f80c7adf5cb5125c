import { decodeHistogram, TOKEN_METRICS } from '../metrics/index.ts'
import { createRandom } from '../random.ts'
import type { MetricName, RoundResult, RunResult } from '../types.ts'

/** Statistics a regression check can compare. */
export type RegressionStat = 'avg' | 'p50' | 'p90' | 'p95' | 'p99'

/** How a run is compared with its baseline. */
export interface RegressionOptions {
  /** Allowed slow-down as a share: 0.10 lets a statistic grow by 10 % before it counts. @default 0.10 */
  tolerance?: number
  /** Metrics compared (lower is better for all of them). @default ['ttft', 'tpot', 'latency'] */
  metrics?: MetricName[]
  /** Statistics compared. @default ['p50', 'p90'] */
  stats?: RegressionStat[]
  /** Two-sided confidence of the bootstrap interval. @default 0.95 */
  confidence?: number
  /** Bootstrap resamples per comparison. @default 1000 */
  resamples?: number
  /**
   * Compare with a baseline recorded with another configuration. By default `toNotRegress` refuses, naming
   * each setting that differs with both values (`maxOutputTokens 8 → 64; dataset a.jsonl → b.jsonl`): the
   * workload, the model, and every setting that changes what is measured (output length, dataset, samples,
   * seed, concurrency levels, ...), but not where or how to connect, how the cache is emptied, or what is
   * recorded besides the timings (see `UNMEASURED_SETTINGS`). `true` compares anyway and says so in a
   * warning line. @default false
   */
  allowConfigChange?: boolean
}

/** One metric/statistic of one round, compared. */
export interface RegressionCheck {
  label: string
  metric: MetricName
  stat: RegressionStat
  baseline: number
  observed: number
  /** observed / baseline. */
  ratio: number
  /** Bootstrap interval of the ratio. */
  low: number
  high: number
  /** The interval lies wholly above 1 + tolerance: a regression beyond noise. */
  regressed: boolean
  /** The check could not be made (a round or metric missing on either side). */
  missing?: string
}

/** Most samples rebuilt from a histogram (quantiles are used past this; enough for stable intervals). */
const MAX_SAMPLES = 2000

/**
 * Compares every (round, metric, statistic) with the baseline. Each side's samples are rebuilt from its
 * stored HDR histogram (inverse CDF at evenly spaced ranks), both are bootstrapped, and the ratio of the
 * statistic observed/baseline gets a percentile interval. It counts as a regression only when the whole
 * interval is above 1 + tolerance, so noise in either run does not flip the verdict. Seeded: the same
 * two runs always give the same verdict.
 */
export function compareWithBaseline(run: RunResult, baseline: RunResult, options: RegressionOptions = {}): RegressionCheck[] {
  const tolerance = options.tolerance ?? 0.1
  const metrics = options.metrics ?? ['ttft', 'tpot', 'latency']
  const stats = options.stats ?? ['p50', 'p90']
  const confidence = options.confidence ?? 0.95
  const resamples = options.resamples ?? 1000
  const checks: RegressionCheck[] = []
  for (const round of run.rounds) {
    const base = baseline.rounds.find((r) => r.label === round.label)
    for (const metric of metrics) {
      for (const stat of stats) {
        const check: RegressionCheck = { label: round.label, metric, stat, baseline: NaN, observed: NaN, ratio: NaN, low: NaN, high: NaN, regressed: false }
        const missing = !base ? `round ${round.label} is not in the baseline` : whyMissing(round, metric) ?? whyMissing(base, metric)
        if (missing) {
          checks.push({ ...check, missing })
          continue
        }
        const current = samplesOf(round, metric)
        const previous = samplesOf(base as RoundResult, metric)
        const observed = statistic(current, stat)
        const expected = statistic(previous, stat)
        const [low, high] = bootstrapRatio(current, previous, stat, confidence, resamples)
        checks.push({ ...check, baseline: expected, observed, ratio: expected > 0 ? observed / expected : Infinity, low, high, regressed: low > 1 + tolerance })
      }
    }
  }
  return checks
}

function whyMissing(round: RoundResult, metric: MetricName): string | undefined {
  const encoded = round.histograms[metric]
  if (!encoded || (round.metrics[metric]?.count ?? 0) === 0) return `${round.label} has no ${metric} samples`
  return undefined
}

/** Sorted samples (ms) rebuilt from a round's histogram, within the round's exact min and max. */
function samplesOf(round: RoundResult, metric: MetricName): Float64Array {
  const h = decodeHistogram(round.histograms[metric] as string)
  const n = Math.min(MAX_SAMPLES, h.totalCount)
  const out = new Float64Array(n)
  const min = round.metrics[metric]?.min ?? 0
  const max = round.metrics[metric]?.max ?? Infinity
  // Times are recorded in µs, token counts as they are.
  const scale = TOKEN_METRICS.has(metric) ? 1 : 1000
  for (let k = 0; k < n; k++) out[k] = Math.min(max, Math.max(min, h.getValueAtPercentile((100 * (k + 0.5)) / n) / scale))
  return out
}

/** The statistic of sorted samples. */
function statistic(sorted: Float64Array, stat: RegressionStat): number {
  if (stat === 'avg') return sorted.reduce((a, b) => a + b, 0) / sorted.length
  const q = Number(stat.slice(1)) / 100
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number
}

/** Percentile bootstrap interval of statistic(current) / statistic(baseline). */
function bootstrapRatio(current: Float64Array, baseline: Float64Array, stat: RegressionStat, confidence: number, resamples: number): [number, number] {
  const random = createRandom(0x5eed)
  const ratios = new Float64Array(resamples)
  const countsA = new Uint32Array(current.length)
  const countsB = new Uint32Array(baseline.length)
  for (let b = 0; b < resamples; b++) {
    const a = resampledStat(current, countsA, stat, random.next)
    const z = resampledStat(baseline, countsB, stat, random.next)
    ratios[b] = z > 0 ? a / z : Infinity
  }
  ratios.sort()
  const tail = (1 - confidence) / 2
  const at = (q: number): number => ratios[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))] as number
  return [at(tail), at(1 - tail)]
}

/** The statistic of one resample with replacement, from index counts (no sort: the source is sorted). */
function resampledStat(sorted: Float64Array, counts: Uint32Array, stat: RegressionStat, next: () => number): number {
  const n = sorted.length
  counts.fill(0)
  for (let i = 0; i < n; i++) counts[Math.floor(next() * n)]!++
  if (stat === 'avg') {
    let sum = 0
    for (let i = 0; i < n; i++) sum += (counts[i] as number) * (sorted[i] as number)
    return sum / n
  }
  const rank = Math.ceil((Number(stat.slice(1)) / 100) * n)
  let seen = 0
  for (let i = 0; i < n; i++) {
    seen += counts[i] as number
    if (seen >= rank) return sorted[i] as number
  }
  return sorted[n - 1] as number
}
