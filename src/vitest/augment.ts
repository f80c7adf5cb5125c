import type { RegressionOptions } from '../baseline/index.ts'
import type { RunResult, Slo } from '../types.ts'
import type { CacheSpeedupExpectation, MeetSloOptions, RoundSelector } from './matchers.ts'

/** What the plugin hands to workers through `provide`/`inject('fluxperf')`. */
export interface FluxperfProvided {
  /** Endpoint the workload functions use by default (the built-in mock's when none is configured). */
  endpoint: string
  /** POST here to empty the cache before each cold round (set when the plugin runs the mock). */
  resetCacheUrl?: string
  /** Empty a configured endpoint's cache before each cold round, the engine's way (the plugin's `resetCache`). */
  resetCache?: boolean
  /** Where the reporter writes each test's RunResult. */
  outputDir: string
  /** Test and hook timeout, ms, for files importing from `fluxperf` (unset: Vitest's own applies). */
  workloadTimeout?: number | undefined
}

/** Each test's runs as the reporter receives them (`testCase.meta().fluxperf`). */
export interface FluxperfTaskMeta {
  runs: RunResult[]
  /** Printed by the reporter after the run: a baseline written, a configuration change allowed. */
  notices?: string[]
}

declare module 'vitest' {
  // Vitest 5 requires exactly these type parameters on every declaration of Matchers.
  interface Matchers<R, T> {
    /** Every SLO term holds: `{ ttft: ['p(90) < 800'], errorRate: ['rate < 0.01'] }` or `{ ttft_ms: 1000 }`. */
    toMeetSlo: (slo: Slo, options?: MeetSloOptions) => R
    /** Cold / warm ratio is at least `atLeast`: round 1 / round 2, or first turn / later turns. */
    toHaveCacheSpeedup: (expectation: CacheSpeedupExpectation) => R
    /** Share of requests meeting the per-request SLO is at least `atLeast`. */
    toHaveGoodput: (expectation: { atLeast: number } & RoundSelector) => R
    /** Share of failed requests is below `below`. */
    toHaveErrorRate: (expectation: { below: number } & RoundSelector) => R
    /**
     * No statistic regressed beyond `tolerance` against the baseline file (written when missing, outside CI, with a
     * notice). A baseline recorded with other settings is refused, naming them, unless `allowConfigChange: true`.
     */
    toNotRegress: (baselinePath: string, options?: RegressionOptions) => R
    /** The capacity sweep met the SLO at this load or above: `{ qps: 20 }` (a sweep over rate) or `{ concurrency: 64 }`. */
    toSustain: (load: { qps: number } | { concurrency: number }) => R
    /** The capacity sweep's capacity, in its own unit (requests/s or requests in flight), is at least `atLeast`. */
    toHaveCapacity: (expectation: { atLeast: number }) => R
  }
  interface TaskMeta {
    fluxperf?: FluxperfTaskMeta
  }
  interface ProvidedContext {
    fluxperf: FluxperfProvided
  }
}
