import { InputError } from '../errors.ts'
import type { RunResult } from '../types.ts'
import { runDualRound } from './dualRound.ts'
import { workloadDefaults } from './defaults.ts'
import type { DualRoundOptions } from './options.ts'

/** Dual-round options where the endpoint may come from the host (Vitest plugin) or `FLUXPERF_ENDPOINT`. */
export type DualRoundInput = Omit<DualRoundOptions, 'endpoint'> & { endpoint?: string }

/**
 * Runs the dual-round workload and returns its RunResult, ready for `expect(run).toMeetSlo(...)`.
 * The endpoint is, in order: `options.endpoint`, the Vitest plugin's (its built-in mock when none is
 * configured), `FLUXPERF_ENDPOINT`. When the host runs the mock, each level's round 1 starts cold.
 *
 * @example
 * const run = await dualRound({ dataset: 'datasets/example.jsonl', concurrency: [8], samples: 32 })
 */
export async function dualRound(options: DualRoundInput): Promise<RunResult> {
  const defaults = workloadDefaults()
  const finished = defaults.beginRun?.()
  const endpoint = options.endpoint ?? defaults.endpoint ?? process.env['FLUXPERF_ENDPOINT']
  if (!endpoint) {
    throw new InputError('no endpoint: pass { endpoint }, set FLUXPERF_ENDPOINT, or add the fluxperf() Vitest plugin (which starts the built-in mock)', 'dualRound')
  }
  const resetCacheUrl = options.resetCacheUrl ?? (options.endpoint ? undefined : defaults.resetCacheUrl)
  const { beginRun: _host, ...settings } = defaults
  const run = await runDualRound({
    ...settings,
    ...options,
    endpoint,
    resetCacheUrl,
    resetCacheBetweenRounds: options.resetCacheBetweenRounds ?? (resetCacheUrl !== undefined || (options.resetCache ?? settings.resetCache) === true),
  })
  finished?.(run)
  return run
}
