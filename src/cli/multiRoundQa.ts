import { join } from 'node:path'
import { Command, Option } from 'commander'
import { parseEndpointUrl } from '../client/index.ts'
import { InputError } from '../errors.ts'
import type { MockServer } from '../mock/index.ts'
import { ensureOutputDir, qaFileNames, writeRunFiles } from '../report/index.ts'
import { ARRIVAL_PROCESSES } from '../schedule/index.ts'
import type { ArrivalProcess } from '../schedule/index.ts'
import { isEncodingName } from '../tokens/index.ts'
import type { RunResult } from '../types.ts'
import { MULTI_ROUND_QA_DEFAULTS, runMultiRoundQa } from '../workloads/index.ts'
import type { MultiRoundQaOptions } from '../workloads/index.ts'
import { mockServerOptions, startFlaggedMock } from './mockServer.ts'
import type { MockServerFlags } from './mockServer.ts'
import { commonVerdict, maxErrorRateOption } from './verdict.ts'
import type { VerdictFlags } from './verdict.ts'
import { finiteNumber, headerPair, positiveNumber, wholeNumber } from './flags.ts'
import { createProgress } from './progress.ts'
import { handleInterrupts } from './signals.ts'
import { addConnectionOptions, connectionSettings } from './endpointFlags.ts'
import type { ConnectionFlags } from './endpointFlags.ts'

/** Flags of `fluxperf multi-round-qa`, as commander hands them over. */
export interface MultiRoundQaFlags extends MockServerFlags, ConnectionFlags {
  numUsers: number
  sharedSystemPrompt: number
  userHistoryPrompt: number
  answerLen: number
  numRounds: number
  qps?: number
  model?: string
  baseUrl?: string
  time: number
  output: string
  outputDir: string
  logInterval: number
  sharegpt?: string
  initUserId: number
  arrival: ArrivalProcess
  burstiness: number
  ignoreEos?: boolean
  seed?: number
  resetCacheUrl?: string
  apiKey?: string
  header?: Record<string, string>
  timeout: number
  tokenizer: string
  progress: boolean
  maxErrorRate?: VerdictFlags['maxErrorRate']
}

export function multiRoundQaCommand(): Command {
  const d = MULTI_ROUND_QA_DEFAULTS
  const [mockServer, mockHost, mockPort] = mockServerOptions()
  return addConnectionOptions(new Command('multi-round-qa'))
    .description('Multi-round QA users in an open loop at a target QPS (seed 004): every scheduled send accounted for')
    .option('--num-users <n>', 'users active at once', wholeNumber(1), d.numUsers)
    .option('--shared-system-prompt <tokens>', 'tokens of the system prompt shared by every user', wholeNumber(0), d.sharedSystemPrompt)
    .option('--user-history-prompt <tokens>', "tokens of each user's own history", wholeNumber(0), d.userHistoryPrompt)
    .option('--answer-len <tokens>', 'max_tokens of every answer', wholeNumber(1), d.answerLen)
    .option('--num-rounds <n>', 'questions per user before a new user takes its place', wholeNumber(1), d.numRounds)
    .option('--qps <rate>', 'target aggregate requests per second (required)', positiveNumber())
    .option('--model <name>', 'model name; default: the first id of GET <base-url>/v1/models')
    .option('--base-url <url>', 'server root, e.g. http://127.0.0.1:8000 (requests go to <base-url>/v1/chat/completions)')
    .option('--time <seconds>', 'length of the schedule: sends are scheduled in [0, time)', positiveNumber(), d.time)
    .option('--output <file>', 'CSV of every scheduled send (relative to the current directory)', 'summary.csv')
    .option('--output-dir <dir>', 'where the realtime, periodic and final summaries and run.json go', '.')
    .option('--log-interval <seconds>', 'seconds between periodic summaries', positiveNumber(), d.logInterval)
    .option('--sharegpt <file>', 'take questions from a ShareGPT-style (or any loadable) dataset instead of synthetic ones')
    .option('--init-user-id <n>', 'id of the first user', wholeNumber(0), d.initUserId)
    .addOption(new Option('--arrival <process>', 'arrival process of the schedule').choices([...ARRIVAL_PROCESSES]).default(d.arrival))
    .option('--burstiness <k>', 'gamma shape with --arrival gamma: 1 is Poisson, < 1 burstier, > 1 more regular', positiveNumber(), d.burstiness)
    .option('--ignore-eos', 'send ignore_eos so every answer is --answer-len tokens long (vLLM, SGLang, llama.cpp)')
    .addOption(mockServer)
    .addOption(mockHost)
    .addOption(mockPort)
    .option('--seed <n>', 'seed of every random choice (default: random, saved in the results)', wholeNumber(0))
    .option('--reset-cache-url <url>', "POST here before the first request to empty the server's prefix cache, e.g. http://host:8000/reset_prefix_cache")
    .option('--api-key <key>', 'Bearer token (default: $OPENAI_API_KEY); never written anywhere')
    .option('--header <header>', "extra request header 'Name: value' (repeatable)", headerPair)
    .option('--timeout <seconds>', 'whole-request timeout', finiteNumber(0.001), 300)
    .option('--tokenizer <encoding>', 'tokenizer for the exact prompt lengths and for counts the server does not report', 'o200k_base')
    .option('--no-progress', 'no progress bar or progress lines')
    .addOption(maxErrorRateOption())
    .action(async (flags: MultiRoundQaFlags) => {
      process.exitCode = await executeMultiRoundQa(flags)
    })
}

/** The chat endpoint under a server root; a root that already ends in `/v1` is accepted as is. */
export function qaEndpoint(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '')
  return /\/v1$/.test(base) ? `${base}/chat/completions` : `${base}/v1/chat/completions`
}

/** Runs `fluxperf multi-round-qa` and returns the exit code. */
export async function executeMultiRoundQa(flags: MultiRoundQaFlags): Promise<number> {
  validate(flags)
  ensureOutputDir(flags.outputDir)
  const out = process.stdout
  const interrupts = handleInterrupts()
  let mock: MockServer | undefined
  try {
    mock = await startFlaggedMock(flags, out)
    const endpoint = qaEndpoint(mock ? mock.url : (flags.baseUrl as string))
    const progress = createProgress(process.stderr, flags.progress)
    const options: MultiRoundQaOptions = {
      endpoint,
      qps: flags.qps as number,
      numUsers: flags.numUsers,
      numRounds: flags.numRounds,
      sharedSystemPrompt: flags.sharedSystemPrompt,
      userHistoryPrompt: flags.userHistoryPrompt,
      answerLen: flags.answerLen,
      time: flags.time,
      arrival: flags.arrival,
      burstiness: flags.burstiness,
      sharegpt: flags.sharegpt,
      initUserId: flags.initUserId,
      outputDir: flags.outputDir,
      outputCsv: flags.output,
      logInterval: flags.logInterval,
      ignoreEos: flags.ignoreEos,
      model: flags.model,
      apiKey: flags.apiKey,
      headers: flags.header,
      timeout: flags.timeout,
      ...connectionSettings(flags, mock !== undefined),
      seed: flags.seed,
      resetCacheUrl: flags.resetCacheUrl,
      tokenizer: flags.tokenizer as MultiRoundQaOptions['tokenizer'],
      signal: interrupts.signal,
      hooks: {
        onRoundStart: (info) => progress.start(info.label, info.total),
        onRequest: (record) => progress.tick(record),
        onSummary(text, final) {
          if (final) progress.stop()
          out.write(`\n${text}`)
        },
        onNotice: (message) => process.stderr.write(`fluxperf: ${message}\n`),
      },
    }
    const run = await runMultiRoundQa(options)
    run.outputDir = flags.outputDir
    const names = qaFileNames(options.qps)
    const files = [flags.output, ...[names.realtime, names.periodic, names.final].map((n) => join(flags.outputDir, n)), ...writeRunFiles(flags.outputDir, run)]
    return verdict(run, files, flags)
  } finally {
    interrupts.dispose()
    await mock?.close()
  }
}

/** The one-line verdict and the exit code (see `commonVerdict`; no cold round here), after a note on late sends. */
function verdict(run: RunResult, files: string[], flags: VerdictFlags): number {
  const out = process.stdout
  const o = run.openLoop
  if (!run.interrupted && o && (o.late > 0 || o.dropped > 0)) {
    out.write(`\nNote: ${o.late} of ${o.scheduled} sends went out late and ${o.dropped} were dropped: a user's previous answer was still streaming at its next send time. The server is slower than --num-users / --qps seconds per answer allows; see the schedule lag and the latency from the intended send.\n`)
  }
  const rate = o ? `, achieved ${o.achievedRate.toFixed(2)} of ${o.targetRate.toFixed(2)} QPS (${o.late} late, ${o.dropped} dropped of ${o.scheduled} scheduled)` : ''
  return commonVerdict(run, `files: ${files.join(', ')}`, out, { maxErrorRate: flags.maxErrorRate, passedDetail: rate })
}

function validate(flags: MultiRoundQaFlags): void {
  if (flags.qps === undefined) throw new InputError('the target rate is required, e.g. --qps 2', '--qps')
  if (flags.mockServer && flags.baseUrl) throw new InputError('give either --base-url or --mock-server, not both', '--mock-server')
  if (!flags.mockServer && !flags.baseUrl) throw new InputError('a server is required: --base-url http://127.0.0.1:8000, or --mock-server for the built-in mock', '--base-url')
  if (flags.baseUrl) parseEndpointUrl(flags.baseUrl, '--base-url')
  if (flags.resetCacheUrl) parseEndpointUrl(flags.resetCacheUrl, '--reset-cache-url')
  if (!isEncodingName(flags.tokenizer)) throw new InputError(`unknown encoding "${flags.tokenizer}"; expected o200k_base, cl100k_base, p50k_base or r50k_base`, '--tokenizer')
}
