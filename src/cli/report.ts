/** `fluxperf report <run...> [-o report.html]`: the self-contained HTML report of one or more runs. */

import { Command } from 'commander'
import { resolve } from 'node:path'
import { compareRuns } from '../baseline/index.ts'
import { InputError } from '../errors.ts'
import { loadReportInput, loadSweepInputs, writeHtmlReport } from '../report/html/index.ts'
import type { ReportComparison } from '../report/html/index.ts'
import { EXIT } from './exitCodes.ts'
import { finiteNumber } from './flags.ts'
import { showDefaults, showExitCodes, USAGE } from './help.ts'

interface ReportFlags {
  output?: string
  compare?: boolean
  tolerance?: number
}

/** The `report` sub-command. */
export function reportCommand(): Command {
  const command = new Command('report')
    .description('write one self-contained HTML report (charts, verdict; opens from disk) of one or more runs, overlaid')
    .argument('<runs...>', 'run directories (the --output-dir of a fluxperf command) or run.json / baseline files; or one sweep directory (its capacity.json and steps)')
    .option('-o, --output <file>', 'the HTML file to write')
    .option('--compare', 'with two runs: also compare them (base = first, new = second), as fluxperf compare does')
    .option('--tolerance <share>', 'with --compare: allowed slow-down before a change counts as a regression', finiteNumber(0))
    .action(async (runs: string[], flags: ReportFlags) => {
      process.exitCode = await writeReport(runs, flags)
    })
  showDefaults(command, { '--output': '<run dir>/report.html for one run directory, else ./report.html', '--tolerance': '0.10' })
  return showExitCodes(command, [[EXIT.ok, 'the report was written'], [...USAGE]])
}

async function writeReport(paths: string[], flags: ReportFlags): Promise<number> {
  if (flags.compare && paths.length !== 2) throw new InputError(`compares two runs; got ${paths.length}`, '--compare')
  if (flags.tolerance !== undefined && !flags.compare) throw new InputError('only applies with --compare', '--tolerance')
  const sweep = paths.length === 1 ? await loadSweepInputs(paths[0] as string) : undefined
  if (sweep && flags.compare) throw new InputError('compares two runs, not a sweep', '--compare')
  const inputs = sweep ? sweep.inputs : []
  if (!sweep) for (const path of paths) inputs.push(await loadReportInput(path))
  let comparison: ReportComparison | undefined
  if (flags.compare) {
    const [base, next] = inputs as [(typeof inputs)[number], (typeof inputs)[number]]
    const result = compareRuns(base.run, next.run, { tolerance: flags.tolerance ?? 0.1 })
    comparison = { base: base.name, new: next.name, tolerance: result.tolerance, configDifferences: result.configDifferences, rows: result.rows }
  }
  const only = paths.length === 1 ? paths[0] as string : undefined
  const out = flags.output ?? (only && !only.endsWith('.json') ? resolve(only, 'report.html') : 'report.html')
  const bytes = await writeHtmlReport(inputs, out, comparison, sweep?.capacity)
  const requests = inputs.reduce((n, i) => n + (i.requests ? 1 : 0), 0)
  process.stdout.write(`Wrote ${out} (${(bytes / 1024).toFixed(0)} KB, ${sweep ? `a capacity sweep of ${inputs.length} step${inputs.length === 1 ? '' : 's'}` : `${inputs.length} run${inputs.length > 1 ? 's' : ''}`}${requests ? `, timeline from saved requests` : ''}): open it in a browser; it needs no network\n`)
  return EXIT.ok
}
