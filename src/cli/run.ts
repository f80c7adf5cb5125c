import { join } from 'node:path'
import { Command, Option } from 'commander'
import { parseEndpointUrl } from '../client/index.ts'
import { InputError } from '../errors.ts'
import type { MockServer } from '../mock/index.ts'
import { ensureOutputDir, formatRound, formatSpeedups, JsonlWriter, requestLogName, writeRoundFile, writeRunFiles } from '../report/index.ts'
import { loadSloFile } from '../slo/index.ts'
import type { SloSpec } from '../slo/index.ts'
import { isEncodingName } from '../tokens/index.ts'
import type { RunResult } from '../types.ts'
import { runDualRound } from '../workloads/index.ts'
import type { DualRoundOptions } from '../workloads/index.ts'
import { mockServerOptions, startFlaggedMock } from './mockServer.ts'
import type { MockServerFlags } from './mockServer.ts'
import { addConnectionOptions, connectionSettings } from './endpointFlags.ts'
import type { ConnectionFlags } from './endpointFlags.ts'
import { collect, finiteNumber, headerPair, wholeNumber, wholeNumberList } from './flags.ts'
import { createProgress } from './progress.ts'
import { prometheusRunOptions } from './prometheus.ts'
import { runRecipeFile } from './recipe.ts'
import { formatPrometheus } from '../report/prometheus.ts'
import { handleInterrupts } from './signals.ts'
import { allowUnverifiedColdRoundOption, commonVerdict, maxErrorRateOption } from './verdict.ts'
import type { VerdictFlags } from './verdict.ts'

/** Flags of `fluxperf run`, as commander hands them over. */
export interface RunFlags extends MockServerFlags, ConnectionFlags {
  endpoint?: string
  dataset?: string
  concurrency: number[]
  numSamples?: number
  model?: string
  timeout: number
  maxInputLength?: number
  maxOutputTokens?: number
  maxContextTokens?: number
  temperature?: number
  topP?: number
  outputDir: string
  sloFile?: string
  saveRequests?: boolean
  debug?: boolean
  debugLogDir?: string
  apiKey?: string
  header?: Record<string, string>
  secretHeader?: string[]
  stream: boolean
  continuousUsageStats: boolean
  seed?: number
  resetCacheUrl?: string
  resetCacheBetweenRounds?: boolean
  shuffleRound2?: boolean
  tokenizer: string
  retries: number
  progress: boolean
  maxErrorRate?: VerdictFlags['maxErrorRate']
  allowUnverifiedColdRound?: VerdictFlags['allowUnverifiedColdRound']
  /** `--recipe`: a YAML recipe of stages (src/config); the other flags override it. */
  recipe?: string
  prometheusUrl?: string
  prometheusMetrics?: string[]
  prometheusMode: 'round' | 'request'
  prometheusInterval: number
}

export function runCommand(): Command {
  const [mockServer, mockHost, mockPort] = mockServerOptions()
  return addConnectionOptions(new Command('run'))
    .description('Dual-round benchmark: for each concurrency level, round 1 then round 2 send the identical requests')
    .option('--endpoint <url>', 'chat or completions endpoint, e.g. http://127.0.0.1:8000/v1/chat/completions')
    .addOption(mockServer)
    .addOption(mockHost)
    .addOption(mockPort)
    .option('--dataset <file>', 'JSONL or JSON array dataset (text, session, ShareGPT or OpenAI rows)')
    .option('--concurrency <n...>', 'concurrency levels', wholeNumberList(1))
    .option('--num-samples <n>', 'conversations to sample from the dataset (seeded); default all', wholeNumber(1))
    .option('--model <name>', 'model name; default: the first id of GET /v1/models')
    .option('--timeout <seconds>', 'whole-request timeout, also the stalled-stream guard', finiteNumber(0.001), 300)
    .option('--max-input-length <tokens>', 'cut each user message to this many tokens', wholeNumber(1))
    .option('--max-output-tokens <tokens>', 'max_tokens of every request', wholeNumber(1))
    .option('--max-context-tokens <tokens>', 'drop the oldest turns when the context exceeds this', wholeNumber(1))
    .option('--temperature <t>', 'sampling temperature', finiteNumber(0))
    .option('--top-p <p>', 'top-p sampling', finiteNumber(0))
    .option('--output-dir <dir>', 'where reports are written', 'results')
    .option('--slo-file <file>', 'SLO YAML: per-request limits for goodput and thresholds (exit 99 when missed)')
    .option('--save-requests', 'write every request to requests_round{n}_conc{m}_{timestamp}.jsonl within 0.1 s of its end')
    .option('--debug', 'log each request as built (session, turn, messages, context tokens, truncation)')
    .option('--debug-log-dir <dir>', 'where --debug logs go (default: <output-dir>/debug)')
    .option('--api-key <key>', 'Bearer token (default: $OPENAI_API_KEY); never written anywhere')
    .option('--header <header>', "extra request header 'Name: value' (repeatable)", headerPair)
    .option('--secret-header <name>', 'a header whose value is a secret: redacted like the API key from every file and message (repeatable)', collect)
    .option('--no-stream', 'send non-streaming requests (TTFT then equals latency)')
    .option('--no-continuous-usage-stats', "do not ask for usage on every chunk (vLLM's continuous_usage_stats)")
    .option('--seed <n>', 'seed of every random choice (default: random, saved in the results)', wholeNumber(0))
    .option('--reset-cache-url <url>', "POST here before the first round 1 to empty the server's prefix cache, e.g. http://host:8000/reset_prefix_cache")
    .option('--reset-cache-between-rounds', 'POST --reset-cache-url before round 1 of every level, so each round 1 is cold')
    .option('--shuffle-round2', 'send round 2 in a seeded random order')
    .addOption(new Option('--tokenizer <encoding>', 'tokenizer when the server reports no usage').default('o200k_base'))
    .option('--retries <n>', 'retry a 429 response up to n times, honouring Retry-After', wholeNumber(0), 0)
    .option('--no-progress', 'no progress bar or progress lines')
    .addOption(maxErrorRateOption())
    .addOption(allowUnverifiedColdRoundOption())
    .option('--prometheus-url <url>', "scrape this Prometheus exposition URL (e.g. http://host:8000/metrics; 'auto': the endpoint's /metrics)")
    .option('--prometheus-metrics <name...>', 'metrics to report, with optional label matchers, e.g. vllm:prefix_cache_hits_total{model_name="m"} (default: vLLM\'s main ones)')
    .addOption(new Option('--prometheus-mode <mode>', 'round: scrape before/after each round and every --prometheus-interval; request: also before/after every request').choices(['round', 'request']).default('round'))
    .option('--prometheus-interval <seconds>', 'seconds between scrapes during a round (round mode)', finiteNumber(0.1), 5)
    .option('--recipe <file>', 'run the stages of a YAML recipe (flags given here override it); see the README, Recipes')
    .action(async (flags: RunFlags, command: Command) => {
      process.exitCode = flags.recipe ? await runRecipeFile(flags.recipe, flags, command) : await executeRun(flags)
    })
}

/** Runs `fluxperf run` with parsed flags and returns the exit code (reports written even on failure). */
export async function executeRun(flags: RunFlags): Promise<number> {
  validate(flags)
  ensureOutputDir(flags.outputDir)
  const slo = flags.sloFile ? await loadSloFile(flags.sloFile) : undefined
  let mock: MockServer | undefined
  const interrupts = handleInterrupts()
  const out = process.stdout
  try {
    mock = await startFlaggedMock(flags, out)
    const endpoint = mock ? `${mock.url}/v1/chat/completions` : (flags.endpoint as string)
    const progress = createProgress(process.stderr, flags.progress)
    const logs = new Map<string, JsonlWriter>()
    const debugDir = flags.debug ? (flags.debugLogDir ?? join(flags.outputDir, 'debug')) : undefined
    if (debugDir) ensureOutputDir(debugDir, flags.debugLogDir ? '--debug-log-dir' : '--output-dir')
    const options: DualRoundOptions = {
      endpoint,
      dataset: flags.dataset as string,
      concurrency: flags.concurrency,
      samples: flags.numSamples,
      model: flags.model,
      apiKey: flags.apiKey,
      headers: flags.header,
      secretHeaders: flags.secretHeader,
      maxOutputTokens: flags.maxOutputTokens,
      maxInputLength: flags.maxInputLength,
      maxContextTokens: flags.maxContextTokens,
      temperature: flags.temperature,
      topP: flags.topP,
      stream: flags.stream,
      continuousUsageStats: flags.continuousUsageStats,
      timeout: flags.timeout,
      ...connectionSettings(flags, mock !== undefined),
      retries: flags.retries,
      seed: flags.seed,
      tokenizer: flags.tokenizer as DualRoundOptions['tokenizer'],
      // The run owns the mock, so it empties its cache before every round 1 unless told otherwise.
      resetCacheUrl: flags.resetCacheUrl ?? (mock ? `${mock.url}/reset_prefix_cache` : undefined),
      resetCacheBetweenRounds: flags.resetCacheBetweenRounds ?? (Boolean(mock) || flags.resetCache === true),
      shuffleRound2: flags.shuffleRound2,
      goodputSlo: slo && Object.keys(slo.perRequest).length > 0 ? slo.perRequest : undefined,
      prometheus: prometheusRunOptions(flags, endpoint),
      signal: interrupts.signal,
      hooks: {
        onRoundStart(info) {
          progress.start(info.label, info.total)
          if (flags.saveRequests) logs.set(info.label, new JsonlWriter(join(flags.outputDir, requestLogName(info.round, info.concurrency))))
        },
        onRequest(record) {
          progress.tick(record)
          logs.get(`Concurrency${record.concurrency}-Round${record.round}`)?.write(record)
        },
        onDebug: debugDir ? debugLogger(debugDir) : undefined,
        onRoundComplete(round, records, context) {
          progress.stop()
          logs.get(round.label)?.close()
          writeRoundFile(flags.outputDir, context, round, records)
          out.write(`\n${formatRound(round)}\n`)
        },
        onNotice(message) {
          process.stderr.write(`fluxperf: ${message}\n`)
        },
      },
    }
    const run = await runDualRound(options)
    run.outputDir = flags.outputDir
    if (slo) run.slo = slo.source
    writeRunFiles(flags.outputDir, run)
    out.write(`${formatSpeedups(run)}\n`)
    if (run.prometheus) out.write(`\n${formatPrometheus(run)}\n`)
    return verdict(run, slo, flags.outputDir, flags)
  } finally {
    interrupts.dispose()
    await mock?.close()
  }
}

/** Prints the SLO table and the one-line verdict, and picks the exit code (see `commonVerdict`). */
function verdict(run: RunResult, slo: SloSpec | undefined, dir: string, flags: VerdictFlags): number {
  const where = `reports in ${dir}/ (metrics_summary.csv, run.json, concurrency_*_round_*.json)`
  return commonVerdict(run, where, process.stdout, { maxErrorRate: flags.maxErrorRate, allowUnverifiedColdRound: flags.allowUnverifiedColdRound, slo, coldRounds: true })
}

function validate(flags: RunFlags): void {
  if (flags.mockServer && flags.endpoint) throw new InputError('give either --endpoint or --mock-server, not both', '--mock-server')
  if (!flags.mockServer && !flags.endpoint) throw new InputError('an endpoint is required: --endpoint <url>, or --mock-server for the built-in mock', '--endpoint')
  if (flags.endpoint) parseEndpointUrl(flags.endpoint)
  if (flags.resetCacheUrl) parseEndpointUrl(flags.resetCacheUrl, '--reset-cache-url')
  if (!flags.dataset) throw new InputError('a dataset is required, e.g. --dataset datasets/example.jsonl', '--dataset')
  if (flags.resetCacheBetweenRounds && !flags.resetCacheUrl && !flags.resetCache && !flags.mockServer) {
    throw new InputError('needs --reset-cache (the engine\'s way) or --reset-cache-url', '--reset-cache-between-rounds')
  }
  if (!isEncodingName(flags.tokenizer)) throw new InputError(`unknown encoding "${flags.tokenizer}"; expected o200k_base, cl100k_base, p50k_base or r50k_base`, '--tokenizer')
  flags.concurrency ??= [1]
}

/** Writes `debug_round{r}_conc{c}.jsonl` files (JsonlWriter: within 0.1 s, and all of it at exit). */
function debugLogger(dir: string): NonNullable<DualRoundOptions['hooks']>['onDebug'] {
  const logs = new Map<string, JsonlWriter>()
  return (entry) => {
    const name = `debug_round${entry.round}_conc${entry.concurrency}.jsonl`
    let log = logs.get(name)
    if (!log) logs.set(name, (log = new JsonlWriter(join(dir, name))))
    log.write(entry)
  }
}
