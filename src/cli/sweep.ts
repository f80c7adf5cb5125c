import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Option } from 'commander'
import type { Command } from 'commander'
import { sweep, SWEEP_DEFAULTS } from '../capacity/index.ts'
import { apiEndpointUnder, parseEndpointUrl } from '../client/index.ts'
import { InputError } from '../errors.ts'
import type { MockServer } from '../mock/index.ts'
import { appendStepSummary, capacityCsv, ensureOutputDir, formatCapacity, stepVerdict, writeRunFiles } from '../report/index.ts'
import { writeHtmlReport } from '../report/html/index.ts'
import { ARRIVAL_PROCESSES } from '../schedule/index.ts'
import { loadSloFile } from '../slo/index.ts'
import type { CapacityResult, TrafficResult } from '../types.ts'
import { TRAFFIC, TRAFFIC_DEFAULTS } from '../workloads/index.ts'
import { EXIT } from './exitCodes.ts'
import { finiteNumber, positiveNumber, wholeNumber } from './flags.ts'
import { COMMON_DEFAULTS, showDefaults, showExitCodes } from './help.ts'
import { startFlaggedMock } from './mockServer.ts'
import { createProgress } from './progress.ts'
import { runRecipeFile } from './recipe.ts'
import { handleInterrupts } from './signals.ts'
import { addPromptOptions, promptOptions, TRAFFIC_HELP_DEFAULTS } from './traffic.ts'
import type { TrafficFlags } from './traffic.ts'
import { checkFlags, commonSettings, workloadCommand } from './workloadCommand.ts'
import type { WorkloadCommandSpec } from './workloadCommand.ts'
import type { TrafficOptions } from '../workloads/index.ts'

/** Flags of `fluxperf sweep`: the prompts and endpoint of `traffic`, the search and the step rule. */
export interface SweepFlags extends TrafficFlags {
  over: 'rate' | 'concurrency'
  start?: number
  max?: number
  factor: number
  resolution: number
  minRequests: number
  ciWidth: number
  confidence: number
  maxStepDuration: number
  minStepDuration?: number
  maxSteps: number
  minCapacity?: number
}

const d = SWEEP_DEFAULTS

/** The flags `sweep` shares with every workload command come from the traffic spec; its action is its own. */
const SWEEP_SPEC: WorkloadCommandSpec<SweepFlags, TrafficOptions, TrafficResult> = {
  name: 'sweep',
  description: 'Capacity: the highest request rate (or concurrency) that meets the SLO of --slo-file, by geometric steps then bisection, each step with its confidence',
  defaults: { outputDir: 'results', timeout: 300 },
  coldRounds: false,
  definition: TRAFFIC,
  addOptions: (command: Command) => addPromptOptions(command
    .addOption(new Option('--over <load>', 'what to vary: the open-loop request rate, or the closed-loop concurrency').choices(['rate', 'concurrency']).default(d.over))
    .option('--start <load>', 'first load tried (default: rate from a probe of one request at a time, 1 / its median latency; concurrency 1)', positiveNumber())
    .option('--max <load>', `highest load tried (default: rate ${d.maxRate}, concurrency ${d.maxConcurrency})`, positiveNumber())
    .option('--factor <k>', 'geometric step before a load fails (or passes)', finiteNumber(1.0001), d.factor)
    .option('--resolution <share>', 'bisection stops when the failing load is within this share above the passing one', positiveNumber(), d.resolution)
    .option('--min-requests <n>', 'requests every step completes at least', wholeNumber(1), d.minRequests)
    .option('--ci-width <share>', 'a step ends when every SLO statistic\'s confidence interval is narrower than this share of its value (or wholly on one side of its limit)', positiveNumber(), d.ciWidth)
    .option('--confidence <level>', 'confidence of the step intervals', positiveNumber(), d.confidence)
    .option('--max-step-duration <seconds>', 'longest step: one whose rule is not met by then ends anyway, and says so', positiveNumber(), d.maxStepDuration)
    .option('--min-step-duration <seconds>', `shortest step unless over-saturated sooner: a queue growing slowly needs time to show (default ${d.minStepDuration}, or --max-step-duration if shorter)`, finiteNumber(0))
    .option('--max-steps <n>', 'most steps, the probe included', wholeNumber(2), d.maxSteps)
    .option('--min-capacity <load>', 'CI gate: exit 99 unless the capacity found is at least this (requests/s, or requests in flight)', positiveNumber())
    .addOption(new Option('--arrival <process>', 'arrival process of the rate steps').choices([...ARRIVAL_PROCESSES]))
    .option('--burstiness <k>', 'gamma shape with --arrival gamma', positiveNumber())),
  endpointOf: (flags) => (flags.baseUrl ? apiEndpointUnder(flags.baseUrl, flags.api) : undefined),
  validate(flags) {
    if (flags.baseUrl) parseEndpointUrl(flags.baseUrl, '--base-url')
    if (!flags.sloFile) throw new InputError('an SLO is required: the capacity is the highest load that meets it, e.g. --slo-file slo.yaml with ttft: ["p(99) < 500"]', '--slo-file')
  },
  workloadOptions: (flags, settings) => promptOptions(flags, settings),
  requestLog: (record) => `requests_sweep_step${record.round}`,
  reports: () => ({ hooks: {}, finish: (_run, files) => files, where: () => '' }),
}

/** Exit codes of `fluxperf sweep`. */
export const SWEEP_EXIT_CODES: [number, string][] = [
  [EXIT.ok, 'a capacity was found (at least --min-capacity, when given)'],
  [EXIT.failed, 'no load met the SLO, or the client saturated before any did; or fluxperf\'s own error'],
  [EXIT.usage, 'a bad flag, a missing --slo-file, or bad input'],
  [EXIT.sloMissed, 'the capacity found is below --min-capacity'],
  [EXIT.interrupted, 'interrupted: capacity.json holds the steps that completed'],
]

export function sweepCommand(): Command {
  const command = workloadCommand(SWEEP_SPEC)
  command.action(async (...args: unknown[]) => {
    const self = args.at(-1) as Command
    const flags = args.at(-2) as SweepFlags
    process.exitCode = flags.recipe
      ? await runRecipeFile(flags.recipe, flags as unknown as Record<string, unknown>, self, {
        execute: (stageFlags) => executeSweep(stageFlags as unknown as SweepFlags),
        check: (stageFlags) => checkFlags(SWEEP_SPEC as never, stageFlags as never, undefined),
      })
      : await executeSweep(flags)
  })
  const { '--time-scale': _t, '--trace-block-size': _b, ...promptDefaults } = TRAFFIC_HELP_DEFAULTS
  showDefaults(command, { ...COMMON_DEFAULTS, ...promptDefaults, '--max-output-tokens': String(TRAFFIC_DEFAULTS.maxOutputTokens), '--min-capacity': 'none (any capacity found passes)' })
  return showExitCodes(command, SWEEP_EXIT_CODES)
}

/** Runs a sweep from parsed flags: steps' reports in `<output-dir>/steps/`, then capacity.json, capacity.csv and report.html. */
export async function executeSweep(flags: SweepFlags): Promise<number> {
  const named = checkFlags(SWEEP_SPEC as never, flags as never, undefined) as string | undefined
  if (flags.minCapacity !== undefined && flags.over === 'concurrency' && !Number.isInteger(flags.minCapacity)) throw new InputError(`expected a whole number of requests in flight, got ${flags.minCapacity}`, '--min-capacity')
  if (flags.startAt !== undefined || flags.startIn !== undefined) throw new InputError('is not available with sweep: every step would wait for the same instant', flags.startAt !== undefined ? '--start-at' : '--start-in')
  if (flags.shard !== undefined || flags.shards !== undefined) throw new InputError('is not available with sweep: a sweep decides each step from what it measured; shard a fixed load with fluxperf traffic', flags.shard !== undefined ? '--shard' : '--shards')
  if (flags.saveRequests || flags.debug) throw new InputError('is not available with sweep: every step\'s run.json and metrics_summary.csv are written to <output-dir>/steps/; record requests at one load with fluxperf traffic', flags.saveRequests ? '--save-requests' : '--debug')
  const dir = flags.outputDir
  ensureOutputDir(dir)
  // The steps of this sweep only: an earlier sweep's into the same directory would mix into the report.
  rmSync(join(dir, 'steps'), { recursive: true, force: true })
  const slo = await loadSloFile(flags.sloFile as string)
  const out = process.stdout
  const interrupts = handleInterrupts()
  let mock: MockServer | undefined
  const stepRuns: { name: string; run: TrafficResult }[] = []
  try {
    mock = await startFlaggedMock(flags, out)
    const endpoint = mock ? apiEndpointUnder(mock.url, flags.api) : (named as string)
    const progress = createProgress(process.stderr, flags.progress)
    const notice = (message: string): void => { process.stderr.write(`fluxperf: ${message}\n`) }
    const settings = commonSettings(flags, endpoint, mock, slo, interrupts.signal, { onNotice: notice })
    const workload = { ...promptOptions(flags, settings), arrival: flags.arrival, burstiness: flags.burstiness, hooks: { onNotice: notice, onRequest: (record: Parameters<typeof progress.tick>[0]) => progress.tick(record) } }
    out.write(`Capacity sweep over ${flags.over} against ${endpoint}: SLO ${flags.sloFile}; each step ≥ ${flags.minRequests} requests and ${Math.round(flags.confidence * 100)} % intervals within ±${((flags.ciWidth / 2) * 100).toFixed(0)} % (or decided), ${flags.minStepDuration ?? Math.min(d.minStepDuration, flags.maxStepDuration)}–${flags.maxStepDuration} s\n`)
    let result: CapacityResult
    try {
      result = await sweep({
        over: flags.over, slo, workload, start: flags.start, max: flags.max, factor: flags.factor, resolution: flags.resolution, minRequests: flags.minRequests,
        ciWidth: flags.ciWidth, confidence: flags.confidence, maxStepDuration: flags.maxStepDuration, minStepDuration: flags.minStepDuration, maxSteps: flags.maxSteps, maxErrorRate: flags.maxErrorRate, signal: interrupts.signal,
        hooks: {
          onNotice: notice,
          onStepStart: (info) => progress.start(`step ${info.step} (${info.phase}): ${info.phase === 'probe' ? 'one request at a time' : `${info.load} ${info.over === 'rate' ? 'req/s' : 'in flight'}`}`, 0),
          onStep(step, run) {
            progress.stop()
            const name = `step-${String(step.step).padStart(String(flags.maxSteps).length, '0')}-${step.phase}-${step.phase === 'probe' ? 'c1' : flags.over === 'rate' ? `rate${step.load}` : `c${step.load}`}`
            const stepDir = join(dir, 'steps', name)
            ensureOutputDir(stepDir)
            writeRunFiles(stepDir, run)
            stepRuns.push({ name, run })
            out.write(`step ${step.step} ${step.phase} ${step.phase === 'probe' ? 'one request at a time' : `${step.load} ${flags.over === 'rate' ? 'req/s' : 'in flight'}`}: ${step.round.total} requests in ${step.durationS.toFixed(1)} s, ${stepVerdict(step)} (${step.ended}: ${step.why})\n`)
          },
        },
      })
    } finally {
      progress.stop()
    }
    const json = join(dir, 'capacity.json')
    const csv = join(dir, 'capacity.csv')
    writeFileSync(json, JSON.stringify(result, null, 2) + '\n')
    writeFileSync(csv, capacityCsv(result))
    out.write(`\n${formatCapacity(result)}\n`)
    if (flags.report) {
      const file = join(dir, 'report.html')
      try {
        await writeHtmlReport(stepRuns.map((s) => ({ name: s.name, run: s.run })), file, undefined, result)
        out.write(`\nHTML report: ${file}\n`)
      } catch (error) {
        process.stderr.write(`fluxperf: warning: could not write ${file} (${(error as Error).message}); the other reports are complete\n`)
      }
    }
    const { code, line } = sweepVerdict(result, flags.minCapacity)
    out.write(`\n${line}; reports in ${dir}/ (capacity.json, capacity.csv, steps/)\n`)
    appendStepSummary(`### fluxperf sweep\n\n${line}\n\n\`\`\`\n${formatCapacity(result)}\n\`\`\`\n`)
    return code
  } finally {
    interrupts.dispose()
    await mock?.close()
  }
}

/** The exit code and one-line verdict of a sweep (see SWEEP_EXIT_CODES). */
export function sweepVerdict(result: CapacityResult, minCapacity: number | undefined): { code: number; line: string } {
  if (result.interrupted) return { code: EXIT.interrupted, line: `INTERRUPTED: ${result.summary}` }
  if (result.capacity === null) return { code: EXIT.failed, line: `FAILED: ${result.summary}` }
  if (minCapacity !== undefined && result.capacity < minCapacity) return { code: EXIT.sloMissed, line: `CAPACITY BELOW --min-capacity ${minCapacity}: ${result.summary}` }
  return { code: EXIT.ok, line: `PASSED: ${result.summary}${minCapacity !== undefined ? ` (at least --min-capacity ${minCapacity})` : ''}` }
}
