import { Option } from 'commander'
import type { Command } from 'commander'
import { apiEndpointUnder, parseEndpointUrl } from '../client/index.ts'
import { formatRound } from '../report/index.ts'
import { ARRIVAL_PROCESSES, parseStages } from '../schedule/index.ts'
import type { ArrivalProcess } from '../schedule/index.ts'
import type { TrafficResult } from '../types.ts'
import { TRAFFIC, TRAFFIC_DEFAULTS } from '../workloads/index.ts'
import type { TrafficHooks, TrafficOptions, WorkloadSettings } from '../workloads/index.ts'
import { positiveNumber, wholeNumber } from './flags.ts'
import { workloadHelp } from './help.ts'
import { workloadCommand } from './workloadCommand.ts'
import type { CommandReports, CommonFlags, WorkloadCommandSpec } from './workloadCommand.ts'
import type { Progress } from './progress.ts'

/** Flags of `fluxperf traffic` (and of each `fluxperf sweep` step): the load and the prompts. */
export interface TrafficFlags extends CommonFlags {
  baseUrl?: string
  rate?: number
  stages?: string
  trace?: string
  concurrency?: number
  timeScale?: number
  traceBlockSize?: number
  duration?: number
  requests?: number
  arrival?: ArrivalProcess
  burstiness?: number
  dataset?: string
  inputTokens?: number
  prefixTokens?: number
  maxConcurrency?: number
}

const d = TRAFFIC_DEFAULTS

/** The prompt and connection flags `traffic` and `sweep` share (the load flags are each command's own). */
export function addPromptOptions(command: Command): Command {
  return command
    .option('--base-url <url>', 'server root, e.g. http://127.0.0.1:8000 (requests go to <base-url>/v1/chat/completions, or --api\'s path)')
    .option('--dataset <file>', 'prompts: the first user message of each conversation (any loadable dataset, or fluxperf:<name>), in seeded order')
    .option('--input-tokens <n>', `synthetic prompts of exactly n tokens (default ${d.inputTokens}, when no --dataset)`, wholeNumber(1))
    .option('--prefix-tokens <n>', 'synthetic prompts: a shared prefix of n tokens before each unique part (a system prompt the server can cache)', wholeNumber(0))
    .option('--max-concurrency <n>', 'open loops: most requests in flight (the connection pool); sends beyond wait for a connection, and the wait counts as schedule lag (default: 5 s of the peak rate, 4–1024)', wholeNumber(1))
}

/** Traffic options from the prompt flags; the load is the caller's. */
export function promptOptions(flags: TrafficFlags, settings: WorkloadSettings): TrafficOptions {
  return {
    ...settings,
    maxOutputTokens: settings.maxOutputTokens,
    dataset: flags.dataset,
    inputTokens: flags.inputTokens,
    prefixTokens: flags.prefixTokens,
    maxConcurrency: flags.maxConcurrency,
  }
}

/** `fluxperf traffic`: independent requests at a rate, in stages, from a trace, or at a concurrency. */
export const TRAFFIC_COMMAND: WorkloadCommandSpec<TrafficFlags, TrafficOptions, TrafficResult, TrafficHooks> = {
  name: 'traffic',
  description: 'Independent requests at a rate (--rate), in ramp stages (--stages), replayed from a timestamped trace (--trace), or at a concurrency (--concurrency)',
  defaults: { outputDir: 'results', timeout: 300 },
  coldRounds: false,
  definition: TRAFFIC,
  addOptions: (command: Command) => addPromptOptions(command
    .option('--rate <per-second>', 'open loop: requests per second, for --duration seconds (or --requests sends)', positiveNumber())
    .option('--stages <rate:seconds,...>', 'open loop in stages back to back, e.g. 2:30,8:60 (2/s for 30 s, then 8/s for 60 s); each stage is reported on its own')
    .option('--trace <file>', 'open loop at the recorded times of a JSONL trace (timestamp ms, input_length, output_length, hash_ids; Mooncake format), e.g. fluxperf:trace-example')
    .option('--concurrency <n>', 'closed loop: n requests in flight, each sent as the previous one ends', wholeNumber(1))
    .option('--time-scale <k>', 'with --trace: multiply the recorded times by k (0.5 replays twice as fast)', positiveNumber())
    .option('--trace-block-size <tokens>', 'with --trace: tokens per hash_ids block (Mooncake: 512)', wholeNumber(1))
    .option('--duration <seconds>', `length of a --rate or --concurrency run (--rate default ${d.duration})`, positiveNumber())
    .option('--requests <n>', `requests to send with --rate or --concurrency (--concurrency default ${d.closedLoopRequests})`, wholeNumber(1))
    .addOption(new Option('--arrival <process>', 'arrival process of --rate and --stages').choices([...ARRIVAL_PROCESSES]))
    .option('--burstiness <k>', 'gamma shape with --arrival gamma: 1 is Poisson, < 1 burstier, > 1 more regular', positiveNumber())),
  endpointOf: (flags) => (flags.baseUrl ? apiEndpointUnder(flags.baseUrl, flags.api) : undefined),
  validate(flags) {
    if (flags.baseUrl) parseEndpointUrl(flags.baseUrl, '--base-url')
    if (flags.stages !== undefined) parseStages(flags.stages, '--stages')
  },
  workloadOptions: (flags, settings) => ({
    ...promptOptions(flags, settings),
    rate: flags.rate,
    stages: flags.stages === undefined ? undefined : parseStages(flags.stages, '--stages'),
    trace: flags.trace,
    concurrency: flags.concurrency,
    timeScale: flags.timeScale,
    traceBlockSize: flags.traceBlockSize,
    duration: flags.duration,
    requests: flags.requests,
    arrival: flags.arrival,
    burstiness: flags.burstiness,
  }),
  requestLog: (record) => `requests_traffic_conc${record.concurrency}`,
  reports: (flags, progress, out) => trafficReports(flags.outputDir, progress, out),
}

/** The traffic command's console output: each group as it ends, then the schedule's accounting. */
function trafficReports(dir: string, progress: Progress, out: NodeJS.WritableStream): CommandReports<TrafficResult, TrafficHooks> {
  return {
    hooks: {
      onRoundStart: (info) => progress.start(info.label, info.total),
      onRequest: (record) => progress.tick(record),
      onRoundComplete(round) {
        progress.stop()
        out.write(`\n${formatRound(round)}\n`)
      },
    },
    finish(run, written) {
      out.write(`\n${trafficSummary(run)}\n`)
      return written
    },
    where: () => `reports in ${dir}/ (run.json, metrics_summary.csv)`,
    passedDetail: (run) => (run.openLoop ? `, sent ${run.openLoop.achievedRate.toFixed(2)}/s of ${run.openLoop.targetRate.toFixed(2)}/s` : ''),
    beforeVerdict(run, stream) {
      if (run.saturation?.saturated && !run.interrupted) stream.write(`\nNote: the server fell behind the schedule (over-saturated): ${run.saturation.reasons.join('; ')}. Percentiles of a run like this grow with its length; find the highest rate it sustains with fluxperf sweep.\n`)
    },
  }
}

/** The schedule as it ran: target and sent rates, lag, and for a trace the prefix sharing it implies. */
export function trafficSummary(run: TrafficResult): string {
  const s = run.schedule
  const lines = [`Traffic: ${s.mode}${s.rate !== undefined ? ` ${s.rate}/s` : ''}${s.stages ? ` ${s.stages.map((x) => `${x.rate}/s×${x.duration}s`).join(', ')}` : ''}${s.concurrency !== undefined ? ` ${s.concurrency} in flight` : ''}; prompts: ${s.prompts}; ${s.sent} sent in ${s.elapsedS.toFixed(1)} s (ended by ${s.endedBy})`]
  if (s.trace) lines.push(`Trace: ${s.trace.source}, ${s.trace.requests} requests, time scale ${s.trace.timeScale}, ${s.trace.blockSize}-token blocks; the hash_ids imply ${(s.trace.impliedPrefixShare * 100).toFixed(1)} % of prompt tokens cacheable`)
  const o = run.openLoop
  if (o) {
    lines.push(`Open loop: target ${o.targetRate.toFixed(2)}/s, sent ${o.achievedRate.toFixed(2)}/s; ${o.scheduled} scheduled, ${o.sent} sent, ${o.late} late, ${o.dropped} dropped`)
    lines.push(`Schedule lag (ms): p50 ${o.scheduleLag.p50.toFixed(2)}, p99 ${o.scheduleLag.p99.toFixed(2)}, max ${o.scheduleLag.max.toFixed(2)}; TTFT from the intended send p99 ${o.ttftFromScheduled.p99.toFixed(1)} ms`)
  }
  const cached = run.rounds.map((r) => r.cache.cachedShare).filter((x): x is number => x !== null)
  if (cached.length > 0) lines.push(`Server-reported cached share of prompt tokens: ${run.rounds.map((r) => `${r.label} ${r.cache.cachedShare === null ? 'n/a' : `${(r.cache.cachedShare * 100).toFixed(1)} %`}`).join(', ')}`)
  return lines.join('\n')
}

/** Defaults of the traffic flags shown in --help (the parsed flags stay undefined, so the workload's defaults apply). */
export const TRAFFIC_HELP_DEFAULTS: Record<string, string> = {
  '--time-scale': String(d.timeScale),
  '--trace-block-size': String(d.traceBlockSize),
  '--arrival': d.arrival,
  '--burstiness': String(d.burstiness),
  '--prefix-tokens': String(d.prefixTokens),
}

export function trafficCommand(): Command {
  return workloadHelp(workloadCommand(TRAFFIC_COMMAND), TRAFFIC_COMMAND.coldRounds, { '--max-output-tokens': `${d.maxOutputTokens} (a trace: each request's output_length)`, ...TRAFFIC_HELP_DEFAULTS })
}
