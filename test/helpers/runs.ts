import { summariseRound } from '../../src/metrics/index.ts'
import { dualRoundSpeedups } from '../../src/metrics/index.ts'
import type { CacheResetOutcome, RequestRecord, RunResult, ClientSummary } from '../../src/types.ts'
import { record } from './records.ts'

/** `n` successful records whose TTFT cycles through `ttfts` (ms), with fixed decode timings. */
export function records(n: number, ttfts: number[], overrides: Partial<RequestRecord> = {}): RequestRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const ttft = ttfts[i % ttfts.length] as number
    return record({ id: `r${i}`, index: i, ttftMs: ttft, latencyMs: ttft + 300, chunkOffsetsMs: [ttft, ttft + 100, ttft + 200, ttft + 300], startedAt: 1_000_000 + i * 10, ...overrides })
  })
}

/**
 * A dual-round RunResult at one level from the records of each round. Round 1 is recorded as following a
 * successful cache reset (as runs against the mock are) unless `cacheReset` says otherwise.
 */
export function dualRun(round1: RequestRecord[], round2: RequestRecord[], options: { concurrency?: number; goodput?: (r: RequestRecord) => boolean; cacheReset?: CacheResetOutcome } = {}): RunResult {
  const c = options.concurrency ?? 4
  const rounds = [
    { ...summariseRound({ label: `Concurrency${c}-Round1`, concurrency: c, round: 1 }, round1, options.goodput), cacheReset: options.cacheReset ?? { attempted: true, ok: true, url: 'http://mock/reset_prefix_cache' } },
    summariseRound({ label: `Concurrency${c}-Round2`, concurrency: c, round: 2 }, round2, options.goodput),
  ]
  return {
    schemaVersion: 2, tool: { name: 'fluxperf', version: 'test' }, workload: 'dual-round', endpoint: 'http://mock', model: 'm',
    startedAt: '', finishedAt: '', seed: 1, config: {}, interrupted: false, client: healthyClient(0),
    rounds, speedups: dualRoundSpeedups(rounds),
  }
}

/** A client that kept up (event-loop delay p99 `p99Ms`, under the bound), precision off. */
export function healthyClient(p99Ms = 0): ClientSummary {
  return {
    eventLoopDelayP99Ms: p99Ms, eventLoopDelayMaxMs: p99Ms, boundMs: 20, resolutionMs: 1, saturated: false,
    precision: { mode: 'off', active: false, changes: [], refused: [] }, warmupRequests: 0,
  }
}
