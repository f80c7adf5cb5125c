import { InputError } from '../errors.ts'
import type { RunResult } from '../types.ts'
import { workloadDefaults } from './defaults.ts'
import { runMultiRoundQa } from './multiRoundQa.ts'
import type { MultiRoundQaOptions } from './multiRoundQa.ts'
import { runMultiTurn } from './multiTurn.ts'
import type { MultiTurnOptions } from './multiTurn.ts'

/** Multi-turn options where the endpoint may come from the host (Vitest plugin) or `FLUXPERF_ENDPOINT`. */
export type MultiTurnInput = Omit<MultiTurnOptions, 'endpoint'> & { endpoint?: string }
/** Multi-round QA options where the endpoint may come from the host (Vitest plugin) or `FLUXPERF_ENDPOINT`. */
export type MultiRoundQaInput = Omit<MultiRoundQaOptions, 'endpoint'> & { endpoint?: string }

/**
 * Runs the multi-turn workload and returns its RunResult: round 1 is every first turn, round 2 every
 * later turn, so `expect(run).toHaveCacheSpeedup({ atLeast: 1.5 })` compares them. The endpoint is, in
 * order: `options.endpoint`, the Vitest plugin's (its built-in mock when none is configured; its prefix
 * cache is emptied first so turn 1 is cold), `FLUXPERF_ENDPOINT`.
 *
 * @example
 * const run = await multiTurn({ conversations: 4, turns: 3, maxOutputTokens: 32, minDelay: 0, maxDelay: 0.05 })
 * expect(run).toHaveCacheSpeedup({ atLeast: 1.5 })
 */
export async function multiTurn(options: MultiTurnInput = {}): Promise<RunResult> {
  return hosted(options, 'multiTurn', (o) => runMultiTurn(o))
}

/**
 * Runs the multi-round QA workload (open loop at `qps`) and returns its RunResult (one round,
 * `openLoop` filled in), ready for `expect(run).toMeetSlo(...)`. Endpoint as for {@link multiTurn}.
 *
 * @example
 * const run = await multiRoundQa({ qps: 4, time: 3, numUsers: 4, numRounds: 3, answerLen: 16 })
 * expect(run.openLoop?.dropped).toBe(0)
 */
export async function multiRoundQa(options: MultiRoundQaInput): Promise<RunResult> {
  return hosted(options, 'multiRoundQa', (o) => runMultiRoundQa(o))
}

async function hosted<T extends { endpoint?: string; resetCacheUrl?: string }>(
  options: T,
  name: string,
  runWorkload: (o: T & { endpoint: string }) => Promise<RunResult>,
): Promise<RunResult> {
  const defaults = workloadDefaults()
  const finished = defaults.beginRun?.()
  const endpoint = options.endpoint ?? defaults.endpoint ?? process.env['FLUXPERF_ENDPOINT']
  if (!endpoint) {
    throw new InputError('no endpoint: pass { endpoint }, set FLUXPERF_ENDPOINT, or add the fluxperf() Vitest plugin (which starts the built-in mock)', name)
  }
  const resetCacheUrl = options.resetCacheUrl ?? (options.endpoint ? undefined : defaults.resetCacheUrl)
  const { beginRun: _host, resetCacheUrl: _reset, ...settings } = defaults
  const run = await runWorkload({ ...settings, ...options, endpoint, resetCacheUrl })
  finished?.(run)
  return run
}
