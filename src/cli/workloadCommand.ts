import { basename, join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { API_KINDS, apiEndpointUrl, apiEndpointUnder, parseEndpointUrl } from '../client/index.ts'
import type { ApiKind } from '../client/index.ts'
import { InputError } from '../errors.ts'
import type { MockServer, MockServerOptions } from '../mock/index.ts'
import { appendStepSummary, ensureOutputDir, fileStamp, formatPrometheus, JsonlWriter, stepSummaryMarkdown, writeRunFiles } from '../report/index.ts'
import { TimedRequestLog, writeHtmlReport } from '../report/html/index.ts'
import { loadSloFile } from '../slo/index.ts'
import type { SloSpec } from '../slo/index.ts'
import { isEncodingName } from '../tokens/index.ts'
import type { EncodingName } from '../tokens/index.ts'
import type { RequestRecord, RunResult } from '../types.ts'
import { backlogFor, runWorkload } from '../workloads/index.ts'
import { startAtOf, wantsWarmClient } from '../workloads/index.ts'
import type { DebugEntry, RunHooks, WorkloadDefinition, WorkloadSettings } from '../workloads/index.ts'
import { addConnectionOptions, connectionSettings } from './endpointFlags.ts'
import type { ConnectionFlags } from './endpointFlags.ts'
import { collect, finiteNumber, headerPair, wholeNumber } from './flags.ts'
import { mockServerOptions, startFlaggedMock } from './mockServer.ts'
import type { MockServerFlags } from './mockServer.ts'
import { createProgress } from './progress.ts'
import type { Progress } from './progress.ts'
import { prometheusRunOptions } from './prometheus.ts'
import type { PrometheusFlags } from './prometheus.ts'
import { runRecipeFile } from './recipe.ts'
import { handleInterrupts } from './signals.ts'
import { announceStart } from './startup.ts'
import { allowUnverifiedColdRoundOption, judge, maxErrorRateOption } from './verdict.ts'

/**
 * The flags every workload command has, as commander hands them over: the endpoint and the built-in mock,
 * connections, what to generate, the outputs, the SLO and verdict, Prometheus, recipes and precision.
 * Defined once here, so a flag added for one command reaches all of them (README: "Flags every command has").
 */
export interface CommonFlags extends MockServerFlags, ConnectionFlags, PrometheusFlags {
  endpoint?: string
  /** `--api`: which API the requests speak (the endpoint's path otherwise). */
  api?: ApiKind
  reasoningTags?: boolean
  model?: string
  apiKey?: string
  header?: Record<string, string>
  secretHeader?: string[]
  maxOutputTokens?: number
  temperature?: number
  topP?: number
  ignoreEos?: boolean
  stream: boolean
  continuousUsageStats: boolean
  timeout: number
  tokenizer: string
  seed?: number
  retries: number
  resetCacheUrl?: string
  outputDir: string
  sloFile?: string
  saveRequests?: boolean
  /** `--no-report` gives false: no report.html. */
  report: boolean
  debug?: boolean
  debugLogDir?: string
  progress: boolean
  maxErrorRate?: number
  allowUnverifiedColdRound?: boolean
  recipe?: string
  /** `--precision <mode>`; `--no-precision` gives false. */
  precision: 'off' | 'auto' | 'on' | false
  /** `--no-warm-client` gives false. */
  warmClient: boolean
  warmup: number
  /** `--shard i/n`. */
  shard?: string
  /** `--shards n`: the index from `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job). */
  shards?: number
  startAt?: string
  startIn?: number
  /** `--workers n`: worker threads sharing the run. */
  workers?: number
}

/** What a workload command adds to the reports the skeleton writes, and how it follows the run. */
export interface CommandReports<R extends RunResult, H extends RunHooks> {
  /** The workload's own hooks (its files written as the run goes; progress). */
  hooks: H
  /** After the run: the workload's own files and console blocks; returns the files written. */
  finish(run: R, files: string[]): string[]
  /** How the verdict line names the reports. */
  where(files: string[]): string
  /** Added to the PASSED line. */
  passedDetail?(run: R): string
  /** Printed before the verdict (e.g. late sends). */
  beforeVerdict?(run: R, out: NodeJS.WritableStream): void
  /**
   * A record's line in the `--save-requests` log (`JSON.stringify(record)` and a newline), when the command's own
   * files take the record too and format it once for both (`RequestTexts`).
   */
  requestLine?: (record: RequestRecord) => string
}

/** One workload command: its own flags, how they become workload options, and its reports. */
export interface WorkloadCommandSpec<F extends CommonFlags, O extends WorkloadSettings, R extends RunResult, H extends RunHooks = RunHooks> {
  name: string
  description: string
  /** A positional `[base-url]`, as the Python tool had (multi-turn). */
  baseUrlArgument?: string
  defaults: { outputDir: string; timeout: number }
  /** The workload reports a cold / warm speedup (`--allow-unverified-cold-round` applies). */
  coldRounds: boolean
  definition: WorkloadDefinition<O, R>
  /** Adds the command's own flags. */
  addOptions(command: Command): Command
  /** The endpoint named by the command's own flags or argument (a base URL), when `--endpoint` is not given. */
  endpointOf?(flags: F, argument: string | undefined): string | undefined
  /** The chat endpoint of the built-in mock at `url`. */
  mockEndpoint?(url: string): string
  mockOptions?(flags: F): MockServerOptions
  /** Checks of the command's own flags (the common ones are checked by the skeleton). */
  validate?(flags: F, argument: string | undefined): void
  /** The workload's own options from the flags; `settings` are the common ones, already filled in. */
  workloadOptions(flags: F, settings: WorkloadSettings): O
  /**
   * The request-log name the records of a round go to with `--save-requests` (a timestamp is added), e.g.
   * `requests_round1_conc4`: from a record, or from the round as it starts (the log is opened then).
   */
  requestLog(round: Pick<RequestRecord, 'round' | 'concurrency'>): string
  reports(flags: F, progress: Progress, out: NodeJS.WritableStream): CommandReports<R, H>
}

/**
 * Builds a workload command from its spec: its own flags, then every common flag, and the action that
 * runs it (through a recipe with `--recipe`).
 */
export function workloadCommand<F extends CommonFlags, O extends WorkloadSettings, R extends RunResult, H extends RunHooks>(spec: WorkloadCommandSpec<F, O, R, H>): Command {
  const [mockServer, mockHost, mockPort] = mockServerOptions()
  let command = new Command(spec.name).description(spec.description)
  if (spec.baseUrlArgument) command = command.argument('[base-url]', spec.baseUrlArgument)
  command = command
    .option('--endpoint <url>', 'the endpoint, e.g. http://127.0.0.1:8000/v1/chat/completions (or /v1/completions, /v1/responses), or a base URL')
    .addOption(new Option('--api <api>', 'the API requests speak: chat (/v1/chat/completions), completions, or responses (/v1/responses) (default: from the endpoint\'s path, else chat)').choices([...API_KINDS]))
    .option('--reasoning-tags', 'read <think>…</think> in the answer\'s content as reasoning (a reasoning model served without a reasoning parser)')
    .addOption(mockServer)
    .addOption(mockHost)
    .addOption(mockPort)
  command = spec.addOptions(command)
  command = addConnectionOptions(command)
    .option('--model <name>', 'model name; default: the first id of GET /v1/models')
    .option('--api-key <key>', 'Bearer token (default: $OPENAI_API_KEY); never written anywhere')
    .option('--header <header>', "extra request header 'Name: value' (repeatable)", headerPair)
    .option('--secret-header <name>', 'a header whose value is a secret: redacted like the API key from every file and message (repeatable)', collect)
    .option('--max-output-tokens <tokens>', 'max_tokens of every request', wholeNumber(1))
    .option('--temperature <t>', 'sampling temperature', finiteNumber(0))
    .option('--top-p <p>', 'top-p sampling', finiteNumber(0))
    .option('--ignore-eos', 'send ignore_eos so every answer is max_tokens long (vLLM, SGLang, llama.cpp)')
    .option('--no-stream', 'send non-streaming requests (TTFT then equals latency)')
    .option('--no-continuous-usage-stats', "do not ask for usage on every chunk (vLLM's continuous_usage_stats)")
    .option('--timeout <seconds>', 'whole-request timeout, also the stalled-stream guard', finiteNumber(0.001), spec.defaults.timeout)
    .addOption(new Option('--tokenizer <encoding>', 'tokenizer for counts the server does not report (and for prompt lengths)').default('o200k_base'))
    .option('--seed <n>', 'seed of every random choice (default: random, saved in the results)', wholeNumber(0))
    .option('--retries <n>', 'retry a 429 response up to n times, honouring Retry-After', wholeNumber(0), 0)
    .option('--reset-cache-url <url>', "POST here before each cold round to empty the server's prefix cache, e.g. http://host:8000/reset_prefix_cache")
    .option('--warmup <n>', 'requests sent before the clock starts and counted nowhere (prompts of their own, disjoint from the workload\'s)', wholeNumber(0), 0)
    .addOption(new Option('--precision <mode>', 'process tuning for exact timestamps (V8 warm-up, thread scheduling), undone at exit: auto = on when confined to one CPU (e.g. taskset -c 0)').choices(['auto', 'on', 'off']).default('auto'))
    .option('--no-precision', 'change nothing in the process (same as --precision off)')
    .option('--no-warm-client', 'skip the client\'s warm-up before the clock (about 0.5 s of loopback streams to a server of its own, never the endpoint): the first round is then read by code not yet compiled')
    .option('--output-dir <dir>', 'where reports are written', spec.defaults.outputDir)
    .option('--shard <i/n>', 'run shard i (1-based) of n: its share of the sessions, users or arrivals of the one run the same --seed makes; merge the shards with fluxperf merge')
    .option('--shards <n>', 'run one shard of n, the index from JOB_COMPLETION_INDEX (0-based, as a Kubernetes Indexed Job sets it)', wholeNumber(1))
    .option('--start-at <time>', 'start the schedule at this instant, ISO-8601 with a zone (e.g. 2026-12-05T10:00:00Z), after preparing: shards given the same instant start together')
    .option('--start-in <seconds>', 'start the schedule this many seconds after the command starts (it prepares first; a later start is said and recorded)', finiteNumber(0))
    .option('--workers <n>', 'worker threads sharing the run, each with its own connections (one client core each); their results are merged exactly, as shards are (default: 1)', wholeNumber(1))
    .option('--slo-file <file>', 'SLO YAML: per-request limits for goodput and thresholds (exit 99 when missed)')
    .option('--save-requests', 'write every request to a JSONL file within 0.1 s of its end (and draw the run\'s timeline in report.html)')
    .option('--no-report', 'write no report.html (the self-contained HTML report of the run)')
    .option('--debug', 'log each request as built (session, turn, messages, context tokens, truncation)')
    .option('--debug-log-dir <dir>', 'where --debug logs go (default: <output-dir>/debug)')
    .option('--no-progress', 'no progress bar or progress lines')
    .addOption(maxErrorRateOption())
  if (spec.coldRounds) command = command.addOption(allowUnverifiedColdRoundOption())
  command = command
    .option('--prometheus-url <url>', "scrape this Prometheus exposition URL (e.g. http://host:8000/metrics; 'auto': the endpoint's /metrics)")
    .option('--prometheus-metrics <name...>', 'metrics to report, with optional label matchers, e.g. vllm:prefix_cache_hits_total{model_name="m"} (default: the engines\' main ones)')
    .addOption(new Option('--prometheus-mode <mode>', 'round: scrape before/after each round and every --prometheus-interval; request: also before/after every request').choices(['round', 'request']).default('round'))
    .option('--prometheus-interval <seconds>', 'seconds between scrapes during a round (round mode)', finiteNumber(0.1), 5)
    .option('--recipe <file>', 'run the stages of a YAML recipe (flags given here override it); see the README, Recipes')
  const action = async (...args: unknown[]): Promise<void> => {
    const self = args.at(-1) as Command
    const flags = args.at(-2) as F
    const argument = spec.baseUrlArgument ? (args[0] as string | undefined) : undefined
    process.exitCode = flags.recipe
      ? await runRecipeFile(flags.recipe, flags as unknown as Record<string, unknown>, self, {
        execute: (stageFlags) => executeWorkload(spec, stageFlags as unknown as F, argument),
        check: (stageFlags) => checkFlags(spec, stageFlags as unknown as F, argument),
      })
      : await executeWorkload(spec, flags, argument)
  }
  return command.action(action)
}

/** The endpoint the flags name (`--endpoint`, else the command's own base URL), checked; undefined with `--mock-server`. */
export function checkFlags<F extends CommonFlags>(spec: WorkloadCommandSpec<F, WorkloadSettings, RunResult, RunHooks>, flags: F, argument: string | undefined): string | undefined {
  const own = spec.endpointOf?.(flags, argument)
  if (flags.endpoint && own) throw new InputError(`give either --endpoint or ${spec.baseUrlArgument ? 'a base URL' : '--base-url'}, not both`, '--endpoint')
  const endpoint = flags.endpoint ? apiEndpointUrl(flags.endpoint, (m) => process.stderr.write(`fluxperf: ${m}\n`), '--endpoint', flags.api) : own
  if (flags.mockServer && endpoint) throw new InputError(`give either ${flags.endpoint ? '--endpoint' : spec.baseUrlArgument ? `a base URL ("${argument}")` : '--base-url'} or --mock-server, not both`, '--mock-server')
  if (!flags.mockServer && !endpoint) {
    const how = spec.baseUrlArgument ? 'a base URL (e.g. http://127.0.0.1:8000/v1) or --endpoint <url>' : spec.endpointOf ? '--base-url http://127.0.0.1:8000 or --endpoint <url>' : '--endpoint <url>'
    throw new InputError(`an endpoint is required: ${how}, or --mock-server for the built-in mock`, spec.baseUrlArgument && !flags.endpoint ? '<base-url>' : '--endpoint')
  }
  if (flags.resetCacheUrl) parseEndpointUrl(flags.resetCacheUrl, '--reset-cache-url')
  if (!isEncodingName(flags.tokenizer)) throw new InputError(`unknown encoding "${flags.tokenizer}"; expected o200k_base, cl100k_base, p50k_base or r50k_base`, '--tokenizer')
  spec.validate?.(flags, argument)
  return endpoint
}

/**
 * `report.html` of the run, beside its other files. A report that cannot be written costs a warning, never
 * the run's verdict or its other files.
 */
async function writeRunReport(dir: string, run: RunResult, requests: TimedRequestLog | undefined, out: NodeJS.WritableStream): Promise<void> {
  const file = join(dir, 'report.html')
  try {
    await writeHtmlReport([{ name: basename(resolve(dir)), run, ...(requests ? { requests } : {}) }], file)
    out.write(`\nHTML report: ${file}\n`)
  } catch (error) {
    process.stderr.write(`fluxperf: warning: could not write ${file} (${(error as Error).message}); the other reports are complete\n`)
  }
}

/** Runs one workload command with parsed flags and returns its exit code (reports written even on failure). */
export async function executeWorkload<F extends CommonFlags, O extends WorkloadSettings, R extends RunResult, H extends RunHooks>(spec: WorkloadCommandSpec<F, O, R, H>, flags: F, argument: string | undefined): Promise<number> {
  const named = checkFlags(spec as unknown as WorkloadCommandSpec<F, WorkloadSettings, RunResult, RunHooks>, flags, argument)
  const dir = flags.outputDir
  ensureOutputDir(dir)
  const slo = flags.sloFile ? await loadSloFile(flags.sloFile) : undefined
  const out = process.stdout
  const interrupts = handleInterrupts()
  let mock: MockServer | undefined
  const logs = new Map<string, JsonlWriter>()
  const timed = new TimedRequestLog()
  try {
    mock = await startFlaggedMock(flags, out, spec.mockOptions?.(flags))
    const endpoint = mock ? (spec.mockEndpoint?.(mock.url) ?? apiEndpointUnder(mock.url, flags.api)) : (named as string)
    const progress = createProgress(process.stderr, flags.progress)
    const debugDir = flags.debug ? (flags.debugLogDir ?? join(dir, 'debug')) : undefined
    if (debugDir) ensureOutputDir(debugDir, flags.debugLogDir ? '--debug-log-dir' : '--output-dir')
    const reports = spec.reports(flags, progress, out)
    // The log a record goes to, remembered for its round and concurrency: building its name and looking it up for
    // every record cost ~1.5 µs a request (docs/performance.md, 2026-12-07: the CLI's cost per request). Its lines
    // come from the command's reports when they format the record for their own files too.
    let lastLog: { round: number; concurrency: number; log: JsonlWriter } | undefined
    const requestLogOf = (r: Pick<RequestRecord, 'round' | 'concurrency'>): JsonlWriter => {
      if (lastLog !== undefined && lastLog.round === r.round && lastLog.concurrency === r.concurrency) return lastLog.log
      const log = logOf(logs, dir, spec.requestLog(r), true, reports.requestLine, backlogFor(r.concurrency))
      lastLog = { round: r.round, concurrency: r.concurrency, log }
      return log
    }
    const own = reports.hooks
    const hooks: RunHooks = {
      ...own,
      onRoundStart(info) {
        // The round's log opened (a file, its timestamp) before the round's clock, not at its first request's end,
        // which comes as the other streams' last chunks arrive: that took 1.2 ms of the loop there, and the chunks
        // read after it were stamped late (docs/performance.md, 2026-12-06, night: a round's first end).
        if (flags.saveRequests) requestLogOf(info)
        own.onRoundStart?.(info)
      },
      onRoundComplete(round, context) {
        // The round's last lines are written now, not in the next round's first 100 ms: serialising a thousand of
        // them there brought that round's first young collection into its streaming (docs/performance.md,
        // 2026-12-06, 21:30: a round's request log, written when the round ends).
        if (flags.saveRequests) logs.get(spec.requestLog(round))?.flush()
        return own.onRoundComplete?.(round, context)
      },
      onRequest(record) {
        if (flags.saveRequests) {
          requestLogOf(record).write(record)
          // The report's timeline: only the timing fields, as the JSONL holds the rest.
          if (flags.report) timed.add(record)
        }
        own.onRequest?.(record)
      },
      onDebug: debugDir ? (entry: DebugEntry) => logOf(logs, debugDir, `debug_round${entry.round}_conc${entry.concurrency}`, false).write(entry) : undefined,
      onNotice: (message) => process.stderr.write(`fluxperf: ${message}\n`),
    }
    const settings = commonSettings(flags, endpoint, mock, slo, interrupts.signal, hooks)
    const options = spec.workloadOptions(flags, settings)
    announceStart({ ...flags, warmClient: wantsWarmClient(settings.warmClient) }, progress)
    const run = await runWorkload(spec.definition, options, { slo: slo?.source, outputDir: dir })
    progress.stop()
    const files = reports.finish(run, writeRunFiles(dir, run))
    if (run.prometheus) out.write(`\n${formatPrometheus(run)}\n`)
    if (flags.report) await writeRunReport(dir, run, flags.saveRequests ? timed : undefined, out)
    reports.beforeVerdict?.(run, out)
    const { code, line } = verdict(run, slo, reports.where(files), flags, spec.coldRounds, reports.passedDetail?.(run))
    appendStepSummary(stepSummaryMarkdown(`fluxperf ${spec.name}`, [{ name: dir, run, verdict: line }]))
    return code
  } finally {
    for (const log of logs.values()) log.close()
    interrupts.dispose()
    await mock?.close()
  }
}

/** The workload settings every command's flags give (`slo` adds its per-request limits as the goodput rule). */
export function commonSettings(flags: CommonFlags, endpoint: string, mock: MockServer | undefined, slo: SloSpec | undefined, signal: AbortSignal, hooks: RunHooks): WorkloadSettings {
  return {
    endpoint,
    model: flags.model,
    apiKey: flags.apiKey,
    headers: flags.header,
    secretHeaders: flags.secretHeader,
    maxOutputTokens: flags.maxOutputTokens,
    ignoreEos: flags.ignoreEos,
    reasoningTags: flags.reasoningTags,
    temperature: flags.temperature,
    topP: flags.topP,
    stream: flags.stream,
    continuousUsageStats: flags.continuousUsageStats,
    timeout: flags.timeout,
    ...connectionSettings(flags, mock !== undefined),
    retries: flags.retries,
    seed: flags.seed,
    tokenizer: flags.tokenizer as EncodingName,
    // The command owns the mock, so it empties its cache before every cold round unless told otherwise.
    resetCacheUrl: flags.resetCacheUrl ?? (mock ? `${mock.url}/reset_prefix_cache` : undefined),
    goodputSlo: slo && Object.keys(slo.perRequest).length > 0 ? slo.perRequest : undefined,
    prometheus: prometheusRunOptions(flags, endpoint),
    precision: flags.precision === false ? 'off' : flags.precision,
    // Given only when turned off: otherwise the library's default (FLUXPERF_NO_WARM_CLIENT=1 may turn it off).
    warmClient: flags.warmClient === false ? false : undefined,
    warmup: flags.warmup,
    ...shardSettings(flags),
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    signal,
    hooks,
  }
}

/**
 * `shard` and `startAt` from `--shard i/n` or `--shards n` (+ `JOB_COMPLETION_INDEX`), and `--start-at` or
 * `--start-in`. Every error names the flag.
 */
export function shardSettings(flags: Pick<CommonFlags, 'shard' | 'shards' | 'startAt' | 'startIn'>, env: NodeJS.ProcessEnv = process.env): Pick<WorkloadSettings, 'shard' | 'startAt'> {
  const out: Pick<WorkloadSettings, 'shard' | 'startAt'> = {}
  if (flags.shard !== undefined && flags.shards !== undefined) throw new InputError('give either --shard i/n or --shards n (with JOB_COMPLETION_INDEX), not both', '--shards')
  if (flags.shard !== undefined) {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(flags.shard)
    const i = Number(m?.[1])
    const n = Number(m?.[2])
    if (!m || n < 1 || i < 1 || i > n) throw new InputError(`expected i/n with 1 ≤ i ≤ n, e.g. 2/4, got "${flags.shard}"`, '--shard')
    out.shard = { index: i - 1, count: n }
  } else if (flags.shards !== undefined) {
    const raw = env['JOB_COMPLETION_INDEX']
    if (raw === undefined || !/^\d+$/.test(raw.trim())) throw new InputError(`needs JOB_COMPLETION_INDEX (0 to ${flags.shards - 1}), as a Kubernetes Indexed Job sets it${raw === undefined ? '' : `; got "${raw}"`}; or give --shard i/n`, '--shards')
    const index = Number(raw.trim())
    if (index >= flags.shards) throw new InputError(`JOB_COMPLETION_INDEX ${index} is not below --shards ${flags.shards}`, '--shards')
    out.shard = { index, count: flags.shards }
  }
  if (flags.startAt !== undefined && flags.startIn !== undefined) throw new InputError('give either --start-at or --start-in, not both', '--start-in')
  if (flags.startAt !== undefined) out.startAt = startAtOf(flags.startAt, '--start-at')
  if (flags.startIn !== undefined) out.startAt = Date.now() + flags.startIn * 1000
  return out
}

/** The JSONL writer for `name` (with a timestamp unless `stamped` is false), opened on first use. */
function logOf(logs: Map<string, JsonlWriter>, dir: string, name: string, stamped = true, line?: (record: RequestRecord) => string, backlog?: number): JsonlWriter {
  let log = logs.get(name)
  if (!log) logs.set(name, (log = new JsonlWriter(join(dir, stamped ? `${name}_${fileStamp()}.jsonl` : `${name}.jsonl`), line as ((value: unknown) => string) | undefined, backlog)))
  return log
}

/**
 * Prints the SLO table and the one-line verdict, and picks the exit code (see `commonVerdict`); also returns the
 * verdict sentence, which the CI job summary quotes.
 */
function verdict(run: RunResult, slo: SloSpec | undefined, where: string, flags: CommonFlags, coldRounds: boolean, passedDetail: string | undefined): { code: number; line: string } {
  return judge(run, where, process.stdout, { maxErrorRate: flags.maxErrorRate, allowUnverifiedColdRound: flags.allowUnverifiedColdRound, slo, coldRounds, passedDetail })
}
