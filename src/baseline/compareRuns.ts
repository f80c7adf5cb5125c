import type { MetricName, RunResult } from '../types.ts'
import { compareWithBaseline } from './compare.ts'
import type { RegressionOptions, RegressionStat } from './compare.ts'
import { configDifferences, formatConfigDifferences } from './configDiff.ts'

/** How one statistic moved between two runs, judged by the bootstrap over both runs' histograms. */
export type ChangeVerdict = 'improved' | 'regressed' | 'within noise' | 'missing'

/** One metric/statistic of one round, base against new. */
export interface RunComparisonRow {
  round: string
  metric: string
  stat: string
  base: number | null
  new: number | null
  /** new / base − 1: 0.12 is 12 % slower (every compared metric is lower-is-better). */
  change: number | null
  /** Bootstrap interval of the ratio new / base. */
  low: number | null
  high: number | null
  verdict: ChangeVerdict
  /** Why a row is `missing`. */
  note?: string
}

/** Two runs compared: the rows, and the settings in which they differ (a comparison to distrust when any do). */
export interface RunComparison {
  tolerance: number
  /** `maxOutputTokens 8 → 64`, one per differing setting (see `configDifferences`). */
  configDifferences: string[]
  rows: RunComparisonRow[]
}

/**
 * Every (round, metric, statistic) of `next` against `base`, with the bootstrap interval of `toNotRegress`:
 * **regressed** when the whole interval of new/base lies above 1 + tolerance, **improved** when it lies wholly
 * below 1 / (1 + tolerance) (the same factor the other way: 10 % slower or 10 % faster), **within noise**
 * otherwise. Seeded: the same two runs always give the same rows.
 */
export function compareRuns(base: RunResult, next: RunResult, options: Omit<RegressionOptions, 'allowConfigChange'> = {}): RunComparison {
  const tolerance = options.tolerance ?? 0.1
  const rows = compareWithBaseline(next, base, options).map((c): RunComparisonRow => {
    // Here the "baseline" is just the base run, named as the user gave it.
    const note = c.missing?.replace(/ is not in the baseline$/, ' is not in the base run')
    if (note) return missingRow(c.label, c.metric, c.stat, base, next, note)
    const finite = (v: number): number | null => (Number.isFinite(v) ? v : null)
    const verdict: ChangeVerdict = c.low > 1 + tolerance ? 'regressed' : c.high < 1 / (1 + tolerance) ? 'improved' : 'within noise'
    return { round: c.label, metric: c.metric, stat: c.stat, base: c.baseline, new: c.observed, change: finite(c.ratio - 1), low: finite(c.low), high: finite(c.high), verdict }
  })
  // Rounds only the base has are missing from the new run.
  const metrics: readonly MetricName[] = options.metrics ?? ['ttft', 'tpot', 'latency']
  for (const round of base.rounds) {
    if (next.rounds.some((r) => r.label === round.label)) continue
    for (const metric of metrics) {
      for (const stat of options.stats ?? ['p50', 'p90']) rows.push(missingRow(round.label, metric, stat, base, next, `round ${round.label} is not in the new run`))
    }
  }
  const differences = configDifferences(base, next)
  return { tolerance, configDifferences: differences.map((d) => formatConfigDifferences([d])), rows }
}

/** A row that cannot be judged: each side shows its stored statistic where it has one, so the table says what is there. */
function missingRow(label: string, metric: MetricName, stat: RegressionStat, base: RunResult, next: RunResult, note: string): RunComparisonRow {
  const stored = (run: RunResult): number | null => {
    const summary = run.rounds.find((r) => r.label === label)?.metrics[metric]
    return summary && summary.count > 0 && Number.isFinite(summary[stat]) ? summary[stat] : null
  }
  return { round: label, metric, stat, base: stored(base), new: stored(next), change: null, low: null, high: null, verdict: 'missing', note }
}
