import type { Command } from 'commander'
import { InputError } from '../errors.ts'
import { formatRound, formatSpeedups, RequestTexts, RoundFileWriter } from '../report/index.ts'
import type { DualRoundResult, RequestRecord } from '../types.ts'
import { backlogFor, DUAL_ROUND } from '../workloads/index.ts'
import type { DualRoundOptions, RunHooks } from '../workloads/index.ts'
import { wholeNumber, wholeNumberList } from './flags.ts'
import { workloadHelp } from './help.ts'
import { workloadCommand } from './workloadCommand.ts'
import type { CommonFlags, WorkloadCommandSpec } from './workloadCommand.ts'

/** Flags of `fluxperf run`, as commander hands them over: the common ones and the dual-round workload's. */
export interface RunFlags extends CommonFlags {
  dataset?: string
  concurrency: number[]
  numSamples?: number
  maxInputLength?: number
  maxContextTokens?: number
  resetCacheBetweenRounds?: boolean
  shuffleRound2?: boolean
}

/** `fluxperf run`: the dual-round workload (the Python dual-round tool's command). */
export const RUN: WorkloadCommandSpec<RunFlags, DualRoundOptions, DualRoundResult> = {
  name: 'run',
  description: 'Dual-round benchmark: for each concurrency level, round 1 then round 2 send the identical requests',
  defaults: { outputDir: 'results', timeout: 300 },
  coldRounds: true,
  definition: DUAL_ROUND,
  addOptions: (command: Command) => command
    .option('--dataset <file>', 'JSONL or JSON array dataset (text, session, ShareGPT or OpenAI rows)')
    .option('--concurrency <n...>', 'concurrency levels', wholeNumberList(1))
    .option('--num-samples <n>', 'conversations to sample from the dataset (seeded)', wholeNumber(1))
    .option('--max-input-length <tokens>', 'cut each user message to this many tokens', wholeNumber(1))
    .option('--max-context-tokens <tokens>', 'drop the oldest turns when the context exceeds this', wholeNumber(1))
    .option('--reset-cache-between-rounds', 'empty the prefix cache (--reset-cache or --reset-cache-url) before round 1 of every level, so each round 1 is cold')
    .option('--shuffle-round2', 'send round 2 in a seeded random order'),
  validate(flags) {
    if (!flags.dataset) throw new InputError('a dataset is required, e.g. --dataset datasets/example.jsonl', '--dataset')
    if (flags.resetCacheBetweenRounds && !flags.resetCacheUrl && !flags.resetCache && !flags.mockServer) {
      throw new InputError('needs --reset-cache (the engine\'s way) or --reset-cache-url', '--reset-cache-between-rounds')
    }
  },
  // The keys in the order the saved configuration (`concurrency_{c}_round_{r}.json`) always had; the others follow.
  workloadOptions: (flags, { endpoint, ...settings }) => ({
    endpoint,
    dataset: flags.dataset as string,
    concurrency: flags.concurrency ?? [1],
    samples: flags.numSamples,
    model: settings.model,
    apiKey: settings.apiKey,
    headers: settings.headers,
    secretHeaders: settings.secretHeaders,
    maxOutputTokens: settings.maxOutputTokens,
    maxInputLength: flags.maxInputLength,
    maxContextTokens: flags.maxContextTokens,
    temperature: settings.temperature,
    topP: settings.topP,
    stream: settings.stream,
    continuousUsageStats: settings.continuousUsageStats,
    timeout: settings.timeout,
    maxConnections: settings.maxConnections,
    engine: settings.engine,
    resetCache: settings.resetCache,
    keepAlive: settings.keepAlive,
    keepAliveTimeout: settings.keepAliveTimeout,
    proxy: settings.proxy,
    caFile: settings.caFile,
    insecure: settings.insecure,
    retries: settings.retries,
    seed: settings.seed,
    tokenizer: settings.tokenizer,
    resetCacheUrl: settings.resetCacheUrl,
    // With the built-in mock (or --reset-cache) every level's round 1 starts cold.
    resetCacheBetweenRounds: flags.resetCacheBetweenRounds ?? (Boolean(flags.mockServer) || flags.resetCache === true),
    shuffleRound2: flags.shuffleRound2,
    ...settings,
  }),
  requestLog: (record) => `requests_round${record.round}_conc${record.concurrency}`,
  reports(flags, progress, out) {
    const dir = flags.outputDir
    // With --save-requests a record goes to the request log and to its round file, formatted once for both.
    const texts = flags.saveRequests ? new RequestTexts() : undefined
    const files = new Map<string, RoundFileWriter>()
    // The round being written, found without building its label for every request (a million of them).
    let current: { concurrency: number; round: number; file: RoundFileWriter } | undefined
    const hooks: RunHooks = {
      onRoundStart(info) {
        progress.start(info.label, info.total)
        const file = new RoundFileWriter(dir, info.concurrency, info.round, { texts, backlog: backlogFor(info.concurrency) })
        files.set(info.label, file)
        current = { concurrency: info.concurrency, round: info.round, file }
      },
      onRequest(record) {
        progress.tick(record)
        const file = current?.concurrency === record.concurrency && current.round === record.round ? current.file : files.get(`Concurrency${record.concurrency}-Round${record.round}`)
        file?.write(record)
      },
      onRoundComplete(round, context) {
        progress.stop()
        const file = files.get(round.label)
        file?.end(context, round)
        files.delete(round.label)
        if (current?.file === file) current = undefined
        out.write(`\n${formatRound(round)}\n`)
      },
    }
    return {
      hooks,
      finish(run, written) {
        out.write(`${formatSpeedups(run)}\n`)
        return written
      },
      where: () => `reports in ${dir}/ (metrics_summary.csv, run.json, concurrency_*_round_*.json)`,
      ...(texts ? { requestLine: (record: RequestRecord) => texts.line(record) } : {}),
    }
  },
}

export function runCommand(): Command {
  return workloadHelp(workloadCommand(RUN), RUN.coldRounds, { '--concurrency': '1', '--num-samples': 'all', '--max-output-tokens': 'the server\'s' })
}
