/** `fluxperf compare <base> <new>`: every statistic of two runs, with the noise-aware verdict of `toNotRegress`. */

import { Command, Option } from 'commander'
import { compareRuns } from '../baseline/index.ts'
import type { RegressionStat } from '../baseline/index.ts'
import { InputError } from '../errors.ts'
import { loadReportInput, writeHtmlReport } from '../report/html/index.ts'
import { formatComparison } from '../report/index.ts'
import type { ComparisonFormat } from '../report/index.ts'
import { METRIC_NAMES } from '../metrics/index.ts'
import type { MetricName } from '../types.ts'
import { EXIT } from './exitCodes.ts'
import { finiteNumber, wholeNumber } from './flags.ts'
import { showDefaults, showExitCodes, USAGE } from './help.ts'

interface CompareFlags {
  format: ComparisonFormat
  tolerance?: number
  metrics?: string
  stats?: string
  confidence?: number
  resamples?: number
  allowConfigChange?: boolean
  html?: string
}

const METRICS = METRIC_NAMES
const STATS: readonly RegressionStat[] = ['avg', 'p50', 'p90', 'p95', 'p99']

/** The `compare` sub-command. */
export function compareCommand(): Command {
  const command = new Command('compare')
    .description('compare two runs statistic by statistic: base, new, change, and improved / regressed / within noise (the bootstrap of toNotRegress)')
    .argument('<base>', 'the run to compare against: a run directory or a run.json / baseline file')
    .argument('<new>', 'the run to judge: a run directory or a run.json / baseline file')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'markdown', 'json']).default('table'))
    .option('--tolerance <share>', 'allowed change before a statistic counts as regressed (or improved): 0.10 is 10 %', finiteNumber(0))
    .option('--metrics <list>', `metrics compared, comma-separated (${METRICS.join(', ')})`)
    .option('--stats <list>', `statistics compared, comma-separated (${STATS.join(', ')})`)
    .option('--confidence <share>', 'confidence of the bootstrap interval', finiteNumber(0))
    .option('--resamples <n>', 'bootstrap resamples per comparison', wholeNumber(10))
    .option('--allow-config-change', 'compare runs measured with different settings (max tokens, dataset, concurrency, ...): flagged instead of refused')
    .option('--html <file>', 'also write the HTML report of both runs with the comparison')
    .action(async (base: string, next: string, flags: CompareFlags) => {
      process.exitCode = await compare(base, next, flags)
    })
  showDefaults(command, { '--tolerance': '0.10', '--metrics': 'ttft,tpot,latency', '--stats': 'p50,p90', '--confidence': '0.95', '--resamples': '1000' })
  return showExitCodes(command, [
    [EXIT.ok, 'no statistic regressed beyond --tolerance'],
    [EXIT.failed, 'an error of fluxperf itself'],
    [...USAGE],
    [EXIT.sloMissed, 'a statistic regressed beyond --tolerance (the whole interval above 1 + tolerance)'],
  ])
}

/** A comma-separated list of allowed names; an unknown one is an error naming the flag and the choices. */
function listOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T[] | undefined {
  if (value === undefined) return undefined
  const items = value.split(',').map((v) => v.trim()).filter(Boolean)
  const bad = items.find((v) => !(allowed as readonly string[]).includes(v))
  if (bad !== undefined || items.length === 0) throw new InputError(`expected a comma-separated list of ${allowed.join(', ')}; got "${value}"`, flag)
  return items as T[]
}

async function compare(basePath: string, nextPath: string, flags: CompareFlags): Promise<number> {
  const metrics = listOf(flags.metrics, METRICS, '--metrics')
  const stats = listOf(flags.stats, STATS, '--stats')
  if (flags.confidence !== undefined && (flags.confidence <= 0 || flags.confidence >= 1)) throw new InputError(`expected a share between 0 and 1, got ${flags.confidence}`, '--confidence')
  const base = await loadReportInput(basePath)
  const next = await loadReportInput(nextPath)
  const comparison = compareRuns(base.run, next.run, {
    ...(flags.tolerance !== undefined ? { tolerance: flags.tolerance } : {}),
    ...(metrics ? { metrics } : {}),
    ...(stats ? { stats } : {}),
    ...(flags.confidence !== undefined ? { confidence: flags.confidence } : {}),
    ...(flags.resamples !== undefined ? { resamples: flags.resamples } : {}),
  })
  if (comparison.configDifferences.length > 0 && !flags.allowConfigChange) {
    throw new InputError(`the runs differ in configuration: ${comparison.configDifferences.join('; ')}; their timings measure different things (pass --allow-config-change to compare anyway)`, nextPath)
  }
  process.stdout.write(formatComparison(comparison, { base: basePath, new: nextPath }, flags.format))
  if (flags.html) {
    await writeHtmlReport([base, next], flags.html, { base: base.name, new: next.name, tolerance: comparison.tolerance, configDifferences: comparison.configDifferences, rows: comparison.rows })
    process.stderr.write(`fluxperf: wrote ${flags.html}\n`)
  }
  return comparison.rows.some((r) => r.verdict === 'regressed') ? EXIT.sloMissed : EXIT.ok
}
