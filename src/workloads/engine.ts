import { performance } from 'node:perf_hooks'
import type { RequestMeta } from '../client/index.ts'
import type { RoundIdentity } from '../metrics/index.ts'
import { serverClockOffsetMs } from '../client/index.ts'
import { InputError } from '../errors.ts'
import { systemClock } from '../schedule/index.ts'
import { PrometheusSampler } from '../metrics/prometheusScrape.ts'
import { randomSeed } from '../random.ts'
import type { Tokenizer } from '../tokens/index.ts'
import type { CacheResetOutcome, CacheSpeedup, ChatMessage, PrometheusRoundSummary, RequestRecord, RoundResult, RunResult, RunResultCommon, ShardInfo, Slo } from '../types.ts'
import { VERSION } from '../version.ts'
import { DeferredRound } from './deferredRound.ts'
import { checkWorkloadOptions, goodputRule } from './options.ts'
import { shardOf, startAtOf } from './options.ts'
import type { DebugEntry, RunContext, RunHooks, ShardSpec, WorkloadKeys, WorkloadName, WorkloadSettings } from './options.ts'
import { openRun } from './run.ts'
import { runInWorkers } from './workers.ts'

/**
 * A workload, as the engine runs it: its own options and checks, then what it sends and how it groups
 * what comes back. Everything else (option checks, the endpoint, precision and warm-up, cache resets,
 * Prometheus, goodput, the records' path, the one build of the RunResult) is the engine's, so a feature
 * added there reaches every workload. Design note: docs/design/engine.md.
 */
export interface WorkloadDefinition<O extends WorkloadSettings, R extends RunResult> {
  /** The workload function's name, as messages say it (`dualRound: unknown option ...`). */
  name: WorkloadName
  /** `RunResult.workload`. */
  kind: R['workload']
  /** The workload's own option and hook names (the shared ones are the engine's). */
  keys: WorkloadKeys
  /**
   * Checks the options and loads what they name (datasets, documents), before anything connects: bad
   * input fails here with an InputError naming the flag.
   */
  prepare(options: O, seed: number, notice: (message: string) => void): Promise<PreparedWorkload<R>>
}

/** A workload ready to run. */
export interface PreparedWorkload<R extends RunResult> {
  /** The settings as the result saves them (`RunResult.config`), defaults filled in. */
  settings: WorkloadSettings
  /** Most requests in flight at once: the connection pool's size. */
  inFlight: number
  /** Distinct prompts the server should keep cached for the warm rounds to find them (slot check). */
  distinctPrompts?: number
  /** Sends the workload's requests on an open run; returns its rounds, speedups and own result section. */
  execute(run: WorkloadRun): Promise<WorkloadOutcome<R>>
}

/** What a workload adds to the RunResult. */
export interface WorkloadOutcome<R extends RunResult> {
  rounds: RoundResult[]
  speedups: CacheSpeedup[]
  /** The fields of its own shape (`openLoop`, `byTurn`...). */
  section: Omit<R, keyof RunResultCommon>
}

/** What the engine hands a workload while it runs. */
export interface WorkloadRun {
  readonly seed: number
  readonly model: string
  readonly tokenizer: Tokenizer
  /** Aborts when the run is stopped: send nothing new. */
  readonly signal: AbortSignal
  readonly context: RunContext
  notice(message: string): void
  /**
   * `--debug`: each request as built. The entry is made only when someone listens: it counts the prompt's
   * tokens, which cost 10–150 µs a prompt and, done for every request of a burst, delayed a cold round's
   * first answers by over 100 ms at 1,000 streams.
   */
  debug(entry: () => DebugEntry): void
  /**
   * Whether `debug` entries are listened to. A workload checks it before making the entry's function: a closure
   * in a request's loop makes V8 allocate a context for every request, listened to or not.
   */
  readonly debugging: boolean
  /** Empties the server's prefix cache (`resetCacheUrl`, else the engine's way with `resetCache`; otherwise nothing). */
  resetCache(): Promise<CacheResetOutcome>
  /**
   * Opens a measured group: requests sent through it are summarised into its RoundResult. Groups may be
   * open together (multi-turn's first and later turns interleave).
   */
  group(id: RoundIdentity, total: number): MeasuredGroup
  /** Scrapes Prometheus before and after `work` (and during it, every interval), kept under `label`. */
  phase<T>(label: string, work: () => Promise<T>): Promise<T>
  /** Right after a burst of sends: precision mode's moment to tidy the heap. */
  afterBurst(): void
  /** Which part of a sharded run this is (`{ index: 0, count: 1 }`: the whole run): the workload sends only its part. */
  readonly shard: ShardSpec
}

/** One measured group of requests. */
export interface MeasuredGroup {
  /** Sends one request and returns its record, which has gone to the group's summary and every hook. */
  send(messages: readonly ChatMessage[], meta: RequestMeta): Promise<RequestRecord>
  /** The group's summary so far (periodic reports). */
  snapshot(): RoundResult
  /** Ends the group: its summary, with the cold round's reset outcome when given; `onRoundComplete` hears it. */
  end(cacheReset?: CacheResetOutcome): Promise<RoundResult>
}

/** What a host (the CLI, the Vitest plugin) adds to the result it asked for. */
export interface RunExtras {
  /** The SLO the run is judged against, saved in the result. */
  slo?: Slo
  /** Where the reports go, saved in the result. */
  outputDir?: string
  /**
   * Internal (`--workers`, src/workloads/workerThread.ts): awaited once the run has prepared (endpoint, warm-up,
   * connections), just before the schedule starts, so that every worker thread starts together.
   */
  beforeStart?: (signal: AbortSignal) => Promise<void>
}

/**
 * Runs a workload from its definition: checks the options, prepares the workload, opens the run,
 * executes it, and builds its RunResult once. The endpoint is closed and precision undone whatever
 * happens; a failure half-way propagates after that (the hooks have already seen every record).
 */
export async function runWorkload<O extends WorkloadSettings, R extends RunResult>(definition: WorkloadDefinition<O, R>, options: O, extras: RunExtras = {}): Promise<R> {
  checkWorkloadOptions(options, definition.name, definition.keys)
  // `--workers n`: the run's n shards, each in a worker thread of this process, merged exactly (docs/design/workers.md).
  if ((options.workers ?? 1) > 1) return runInWorkers(definition, options, extras) as Promise<R>
  const hooks: RunHooks = options.hooks ?? {}
  const notice = (message: string): void => hooks.onNotice?.(message)
  const seed = options.seed ?? randomSeed()
  const shard = shardOf(options.shard, definition.name)
  const startAt = startAtOf(options.startAt, definition.name)
  if (shard.count > 1 && options.seed === undefined) {
    throw new InputError('a sharded run needs --seed: every shard must draw the same schedule and prompts to make up the one run', '--seed')
  }
  const meets = goodputRule(options.goodputSlo, definition.name)
  const prepared = await definition.prepare(options, seed, notice)
  const sampler = options.prometheus ? new PrometheusSampler(options.prometheus, notice) : undefined
  const perRequest = sampler?.mode === 'request' ? sampler : undefined
  const prometheus: Record<string, PrometheusRoundSummary> = {}
  const run = await openRun(prepared.settings, seed, Math.max(1, prepared.inFlight), notice)
  let outcome: WorkloadOutcome<R>
  let shardInfo: ShardInfo | undefined
  const clockOffset = shard.count > 1 || startAt !== undefined ? await serverClockOffsetMs(run.endpoint) : undefined
  try {
    if (prepared.distinctPrompts !== undefined) await run.checkPromptCapacity(prepared.distinctPrompts)
    const workloadRun: WorkloadRun = {
      seed,
      model: run.model,
      tokenizer: run.tokenizer,
      signal: run.signal,
      context: run.context,
      notice,
      debug: (entry) => {
        if (hooks.onDebug) hooks.onDebug(entry())
      },
      debugging: hooks.onDebug !== undefined,
      resetCache: () => run.resetCache(),
      afterBurst: () => run.afterBurst(),
      shard,
      group(id, total) {
        hooks.onRoundStart?.({ ...id, total })
        const accumulator = new DeferredRound(id, meets)
        return {
          send(messages, meta) {
            // One promise a request, not an async function's: every request of every workload passes here.
            const sent = perRequest ? betweenSamples(perRequest, () => run.send(messages, meta)) : run.send(messages, meta)
            return sent.then((record) => {
              accumulator.add(record)
              hooks.onRequest?.(record)
              return record
            })
          },
          snapshot: () => accumulator.finish(),
          async end(cacheReset) {
            const round = accumulator.finish()
            if (cacheReset) round.cacheReset = cacheReset
            await hooks.onRoundComplete?.(round, run.context)
            return round
          },
        }
      },
      async phase(label, work) {
        if (!sampler) return work()
        await sampler.beforeRound()
        try {
          return await work()
        } finally {
          prometheus[label] = await sampler.afterRound()
        }
      },
    }
    await extras.beforeStart?.(run.signal)
    // Every shard has prepared (model, warm-up, connections): all start their schedules at the same instant.
    if (startAt !== undefined) {
      const wait = startAt - Date.now()
      if (wait > 0) notice(`waiting ${(wait / 1000).toFixed(1)} s to start at ${new Date(startAt).toISOString()}${shard.count > 1 ? ` (shard ${shard.index + 1} of ${shard.count})` : ''}`)
      else if (wait < -1000) notice(`the start instant ${new Date(startAt).toISOString()} passed ${(-wait / 1000).toFixed(1)} s ago (preparing took longer, or an earlier workload ran): starting now, late; run.json records the lag`)
      // The schedule's own timer, aimed at the instant on the monotonic timeline.
      await systemClock.sleepUntil(performance.now() + (startAt - Date.now()), run.signal)
    }
    if (shard.count > 1 || startAt !== undefined) {
      const now = Date.now()
      shardInfo = {
        index: shard.index, count: shard.count,
        ...(startAt !== undefined ? { startAt: new Date(startAt).toISOString(), startLagMs: now - startAt } : {}),
        startedAt: new Date(now).toISOString(),
        serverClockOffsetMs: clockOffset === undefined ? null : Math.round(clockOffset),
      }
    }
    outcome = await prepared.execute(workloadRun)
  } finally {
    sampler?.stop()
    await run.close()
  }
  const client = await run.close()
  const common: RunResultCommon = {
    schemaVersion: 2,
    tool: { name: 'fluxperf', version: VERSION },
    workload: definition.kind,
    endpoint: run.context.endpoint,
    model: run.model,
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    seed,
    config: run.context.config,
    interrupted: run.signal.aborted,
    client,
    rounds: outcome.rounds,
    speedups: outcome.speedups,
    ...(sampler ? { prometheus } : {}),
    ...(extras.slo ? { slo: extras.slo } : {}),
    ...(extras.outputDir ? { outputDir: extras.outputDir } : {}),
    transport: run.transport(),
    ...(run.engine ? { engine: { name: run.engine.name, evidence: run.engine.evidence } } : {}),
    ...(shardInfo ? { shard: shardInfo } : {}),
  }
  return { ...common, ...outcome.section } as R
}

/** A request between two scrapes of the server's metrics (`prometheus.mode: 'request'`). */
async function betweenSamples(sampler: PrometheusSampler, send: () => Promise<RequestRecord>): Promise<RequestRecord> {
  const before = await sampler.beforeRequest()
  const record = await send()
  await sampler.afterRequest(before)
  return record
}
