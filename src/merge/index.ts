/** Shards of one run merged exactly into the run they make up (`fluxperf merge`), and reading a run back. */
export { MAX_START_SPREAD_MS, mergeRounds, mergeRuns, ShardMissingError } from './mergeRuns.ts'
export type { MergedRun, ShardRun } from './mergeRuns.ts'
export { loadRun } from './load.ts'
