/**
 * What the HTML report embeds: everything the viewer draws, computed in Node from `RunResult`s (and the
 * per-request JSONL when it was saved). The viewer (viewer/, built with Vite) only draws; every number it
 * prints comes from here, exact, and only the series drawn are down-sampled. See docs/design/report.md.
 */

import type { RoundResult } from '../../types.ts'

/**
 * What the report writer replaces with the data in the viewer's page, inside `<script type="application/json"
 * id="fluxperf-data">`: a JSON string, so the bare template is valid JSON too.
 */
export const DATA_PLACEHOLDER = '"__FLUXPERF_DATA__"'

/** Version of this shape; the viewer refuses data of another version. */
export const REPORT_DATA_VERSION = 1

/** The data of one report: one or more runs overlaid, and optionally the comparison of the first two. */
export interface ReportData {
  version: typeof REPORT_DATA_VERSION
  /** fluxperf version that wrote the report. */
  tool: string
  generatedAt: string
  runs: ReportRun[]
  /** With exactly two runs and `--compare` (or `fluxperf compare --html`): base = runs[0], new = runs[1]. */
  comparison?: ReportComparison
  /** A capacity sweep's finding and its steps (`fluxperf sweep`); the runs are then its steps. */
  capacity?: ReportCapacity
}

/** A capacity sweep as the report draws it: the finding, then one entry per step, in the order run. */
export interface ReportCapacity {
  over: 'rate' | 'concurrency'
  /** `requests/s` or `requests in flight`. */
  unit: string
  capacity: number | null
  failedAt: number | null
  stopReason: string
  /** The finding in one sentence. */
  summary: string
  /** Confidence of the step intervals (0.95). */
  confidence: number
  steps: {
    step: number
    phase: 'probe' | 'up' | 'down' | 'bisect'
    load: number
    pass: boolean
    /** `pass`, `FAIL <terms>`, `SATURATED`, `CLIENT SATURATED`. */
    verdict: string
    ended: string
    why: string
    achievedRate: number
    requests: number
    requestsPerS: number
    outputTokensPerS: number
    /** Requests per second meeting the per-request SLO; null without one. */
    goodputPerS: number | null
    ttft: { p50: number; p90: number; p99: number } | null
    latency: { p50: number; p90: number; p99: number } | null
    checks: { metric: string; expression: string; observed: number | null; low: number | null; high: number | null; pass: boolean }[]
  }[]
}

/** Metrics with a distribution the report draws as a CDF. */
export type ReportMetric = 'ttft' | 'ttfat' | 'reasoningTime' | 'itl' | 'tpot' | 'latency'

/** One run: its identity, verdict, rounds and (when saved) its requests over time. */
export interface ReportRun {
  /** Legend name: the run directory's or file's name, made unique among the runs. */
  name: string
  workload: 'dual-round' | 'multi-turn' | 'multi-round-qa' | 'traffic'
  model: string
  endpoint: string
  startedAt: string
  finishedAt: string
  seed: number
  /** A few settings worth showing in the header (dataset, concurrency, max output tokens, qps...). */
  settings: Record<string, string>
  /** The client kept up; when false the timings are not trustworthy and the viewer says so. */
  clientSaturated: boolean
  interrupted: boolean
  verdict: ReportVerdict
  rounds: ReportRound[]
  /** Multi-turn and multi-round QA: statistics per turn (1-based). */
  byTurn?: { turn: number; requests: number; ttftP50: number | null; ttftP90: number | null; latencyP50: number | null }[]
  /** Built from the per-request JSONL; absent when requests were not saved. */
  timeline?: ReportTimeline
  /** Prometheus series collected, per round label: name → value (gauge mean or counter rate per s). */
  prometheus?: { label: string; values: Record<string, number> }[]
}

/** The verdict: every SLO term with observed value and limit, and why a run failed beyond them. */
export interface ReportVerdict {
  /** null when the run had no SLO: nothing to pass or fail. */
  passed: boolean | null
  checks: { round: string; metric: string; statistic: string; observed: number | null; limit: string; pass: boolean; note?: string }[]
  /** Other reasons the run failed: failed requests, a saturated client, an interruption. */
  problems: string[]
}

/** One measured round (dual-round: a concurrency level's round 1 or 2; multi-turn: a turn group; QA: the run). */
export interface ReportRound extends Pick<RoundResult, 'label' | 'concurrency' | 'round' | 'total' | 'succeeded' | 'failed' | 'durationS'> {
  requestsPerS: number
  outputTokensPerS: number
  /** Share of requests meeting the per-request SLO; null without one. */
  goodput: number | null
  /** Share of prompt tokens the server reported cached; null when it reports none. */
  cachedShare: number | null
  errors: { kind: string; count: number }[]
  /** Exact statistics from the run's summaries, ms. */
  stats: Partial<Record<ReportMetric, { avg: number; p50: number; p90: number; p99: number; min: number; max: number; count: number }>>
  /** CDF from the round's HDR histogram: `ms[i]` is the value at cumulative share `share[i]` (≤ 200 points). */
  cdf: Partial<Record<ReportMetric, { ms: number[]; share: number[] }>>
}

/** The run over time, from its saved requests. Series are down-sampled for drawing; counts are exact. */
export interface ReportTimeline {
  /** Requests read from the JSONL. */
  requests: number
  /** Seconds from the first request's start. */
  inFlight: { t: number[]; n: number[] }
  /** TTFT of each request at its start time (down-sampled to at most `maxPoints`). */
  ttft: { t: number[]; ms: number[] }
  /** Open loop only: schedule lag (start − intended send) at the intended time, ms. */
  lag?: { t: number[]; ms: number[] }
  /** Failed requests per time bucket and kind. */
  errors: { t: number[]; byKind: Record<string, number[]> }
  /** The most points any drawn series holds; series with more requests were down-sampled. */
  maxPoints: number
  downsampled: boolean
}

/** The comparison of two runs, per metric, statistic and round (the same bootstrap as `toNotRegress`). */
export interface ReportComparison {
  base: string
  new: string
  tolerance: number
  /** Settings that differ (`maxOutputTokens 8 → 64`); the comparison is flagged when any do. */
  configDifferences: string[]
  /**
   * `change` is new / base − 1 (0.12: 12 % slower); `low` and `high` bound the ratio new / base (1.12) with the
   * bootstrap's confidence.
   */
  rows: { round: string; metric: string; stat: string; base: number | null; new: number | null; change: number | null; low: number | null; high: number | null; verdict: 'improved' | 'regressed' | 'within noise' | 'missing' }[]
}
