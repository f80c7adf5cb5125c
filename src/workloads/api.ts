import { InputError } from '../errors.ts'
import { apiEndpointUrl } from '../client/index.ts'
import type { ApiKind } from '../client/index.ts'
import type { DualRoundResult, MultiRoundQaResult, MultiTurnResult, RunResult, TrafficResult } from '../types.ts'
import { workloadDefaults } from './defaults.ts'
import { DUAL_ROUND } from './dualRound.ts'
import { runWorkload } from './engine.ts'
import type { WorkloadDefinition } from './engine.ts'
import { MULTI_ROUND_QA } from './multiRoundQa.ts'
import type { MultiRoundQaOptions } from './multiRoundQa.ts'
import { MULTI_TURN } from './multiTurn.ts'
import type { MultiTurnOptions } from './multiTurn.ts'
import { startAtOf } from './options.ts'
import type { DualRoundOptions, WorkloadSettings } from './options.ts'
import { TRAFFIC } from './traffic.ts'
import type { TrafficOptions } from './traffic.ts'

/** Dual-round options where the endpoint may come from the host (Vitest plugin) or `FLUXPERF_ENDPOINT`. */
export type DualRoundInput = Omit<DualRoundOptions, 'endpoint'> & { endpoint?: string }
/** Multi-turn options where the endpoint may come from the host (Vitest plugin) or `FLUXPERF_ENDPOINT`. */
export type MultiTurnInput = Omit<MultiTurnOptions, 'endpoint'> & { endpoint?: string }
/** Multi-round QA options where the endpoint may come from the host (Vitest plugin) or `FLUXPERF_ENDPOINT`. */
export type MultiRoundQaInput = Omit<MultiRoundQaOptions, 'endpoint'> & { endpoint?: string }
/** Traffic options where the endpoint may come from the host (Vitest plugin) or `FLUXPERF_ENDPOINT`. */
export type TrafficInput = Omit<TrafficOptions, 'endpoint'> & { endpoint?: string }

/**
 * Runs the dual-round workload and returns its RunResult, ready for `expect(run).toMeetSlo(...)`.
 * The endpoint is, in order: `options.endpoint`, the Vitest plugin's (its built-in mock when none is
 * configured), `FLUXPERF_ENDPOINT`. When the host runs the mock, each level's round 1 starts cold.
 *
 * @example
 * const run = await dualRound({ dataset: 'datasets/example.jsonl', concurrency: [8], samples: 32 })
 */
export function dualRound(options: DualRoundInput): Promise<DualRoundResult> {
  return hosted(DUAL_ROUND, options, (o) => ({
    ...o,
    // Every round 1 starts cold whenever the cache can be emptied at all.
    resetCacheBetweenRounds: o.resetCacheBetweenRounds ?? (o.resetCacheUrl !== undefined || o.resetCache === true),
  }))
}

/**
 * Runs the multi-turn workload and returns its RunResult: round 1 is every first turn, round 2 every
 * later turn, so `expect(run).toHaveCacheSpeedup({ atLeast: 1.5 })` compares them. Endpoint as for
 * {@link dualRound}; the host's mock has its prefix cache emptied first, so turn 1 is cold.
 *
 * @example
 * const run = await multiTurn({ conversations: 4, turns: 3, maxOutputTokens: 32, minDelay: 0, maxDelay: 0.05 })
 * expect(run).toHaveCacheSpeedup({ atLeast: 1.5 })
 */
export function multiTurn(options: MultiTurnInput = {}): Promise<MultiTurnResult> {
  return hosted(MULTI_TURN, options)
}

/**
 * Runs the multi-round QA workload (open loop at `qps`) and returns its RunResult (one round, `openLoop`
 * filled in), ready for `expect(run).toMeetSlo(...)`. Endpoint as for {@link dualRound}.
 *
 * @example
 * const run = await multiRoundQa({ qps: 4, time: 3, numUsers: 4, numRounds: 3, answerLen: 16 })
 * expect(run.openLoop.dropped).toBe(0)
 */
export function multiRoundQa(options: MultiRoundQaInput): Promise<MultiRoundQaResult> {
  return hosted(MULTI_ROUND_QA, options)
}

/**
 * Runs the traffic workload (independent requests at a `rate`, in `stages`, from a `trace`, or at a
 * `concurrency`) and returns its RunResult, ready for `expect(run).toMeetSlo(...)`. Endpoint as for {@link dualRound}.
 *
 * @example
 * const run = await traffic({ rate: 8, duration: 5, inputTokens: 128, maxOutputTokens: 32 })
 * expect(run).toMeetSlo({ ttft: 'p(99) < 500' })
 * @example
 * const replay = await traffic({ trace: 'fluxperf:trace-example', timeScale: 0.5 })
 */
export function traffic(options: TrafficInput): Promise<TrafficResult> {
  return hosted(TRAFFIC, options)
}

/**
 * Fills in what the host provides (its endpoint and cache reset, its output directory) and runs the
 * workload through the engine; the host hears the finished result.
 */
async function hosted<O extends WorkloadSettings, R extends RunResult>(
  definition: WorkloadDefinition<O, R>,
  options: Omit<O, 'endpoint'> & { endpoint?: string },
  complete: (options: O) => O = (o) => o,
): Promise<R> {
  const host = workloadDefaults().beginRun?.()
  const resolved = hostSettings(options, definition.name)
  const run = await runWorkload(definition, complete({ ...resolved, ...options, endpoint: resolved.endpoint, resetCacheUrl: resolved.resetCacheUrl } as O), { outputDir: host?.outputDir })
  host?.finished(run)
  return run
}

/**
 * What the host provides a workload function (or a sweep): the endpoint (the options', else the Vitest
 * plugin's, else `FLUXPERF_ENDPOINT`), the host's cache reset for the host's endpoint, and its other defaults.
 * @throws InputError naming `name` when no endpoint is given anywhere
 */
export function hostSettings(options: { endpoint?: string; api?: ApiKind; resetCacheUrl?: string; hooks?: { onNotice?(message: string): void } }, name: string): Omit<WorkloadSettings, 'hooks'> {
  const defaults = workloadDefaults()
  const named = options.endpoint ?? defaults.endpoint ?? process.env['FLUXPERF_ENDPOINT']
  if (!named) {
    throw new InputError('no endpoint: pass { endpoint }, set FLUXPERF_ENDPOINT, or add the fluxperf() Vitest plugin (which starts the built-in mock)', name)
  }
  const source = options.endpoint ? 'endpoint' : defaults.endpoint ? 'the fluxperf() plugin\'s endpoint' : 'FLUXPERF_ENDPOINT'
  const endpoint = apiEndpointUrl(named, options.hooks?.onNotice ?? sayOnce, source, options.api)
  // The host's cache reset applies to the host's endpoint only.
  const resetCacheUrl = options.resetCacheUrl ?? (options.endpoint ? undefined : defaults.resetCacheUrl)
  const { beginRun: _host, resetCacheUrl: _reset, ...settings } = defaults
  return { ...settings, ...shardFromEnv(name), endpoint, resetCacheUrl }
}

/**
 * A CI matrix shards every workload of a bench file through the environment: `FLUXPERF_SHARD=2/4` (1-based, as
 * `--shard`) and `FLUXPERF_START_AT` (ISO-8601, as `--start-at`). Options given in code win.
 */
export function shardFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): Pick<WorkloadSettings, 'shard' | 'startAt'> {
  const out: Pick<WorkloadSettings, 'shard' | 'startAt'> = {}
  const shard = env['FLUXPERF_SHARD']?.trim()
  if (shard) {
    const m = /^(\d+)\s*\/\s*(\d+)$/.exec(shard)
    const i = Number(m?.[1])
    const n = Number(m?.[2])
    if (!m || n < 1 || i < 1 || i > n) throw new InputError(`FLUXPERF_SHARD: expected i/n with 1 ≤ i ≤ n, e.g. 2/4, got "${shard}"`, name)
    out.shard = { index: i - 1, count: n }
  }
  const startAt = env['FLUXPERF_START_AT']?.trim()
  if (startAt) out.startAt = startAtOf(startAt, `${name}: FLUXPERF_START_AT`)
  return out
}

const said = new Set<string>()

/** A notice with no `onNotice` hook to hear it: once per process on stderr (a base URL is said once, not per test). */
function sayOnce(message: string): void {
  if (said.has(message)) return
  said.add(message)
  process.stderr.write(`fluxperf: ${message}\n`)
}
