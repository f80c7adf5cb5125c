import { MetricRecorder } from '../metrics/index.ts'
import type { MetricSummary, RequestRecord, RunResult } from '../types.ts'

/** TTFT and latency of one group of requests (over its successful requests). */
export interface GroupStats {
  /** Every request of the group, failed ones included. */
  requests: number
  ttft: MetricSummary
  latency: MetricSummary
}

/** Groups records by `key` and summarises TTFT and latency per group; keys come back sorted. */
export function statsBy<K extends string | number>(records: readonly RequestRecord[], key: (r: RequestRecord) => K): { key: K; stats: GroupStats }[] {
  const groups = new Map<K, { requests: number; ttft: MetricRecorder; latency: MetricRecorder }>()
  for (const r of records) {
    const k = key(r)
    let g = groups.get(k)
    if (!g) groups.set(k, (g = { requests: 0, ttft: new MetricRecorder(), latency: new MetricRecorder() }))
    g.requests++
    if (!r.ok) continue
    if (r.ttftMs !== null) g.ttft.record(r.ttftMs)
    g.latency.record(r.latencyMs)
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, g]) => ({ key: k, stats: { requests: g.requests, ttft: g.ttft.summary(), latency: g.latency.summary() } }))
}

/** `RunResult.byTurn`: TTFT and latency per 1-based turn number (counts are of successful requests). */
export function byTurn(records: readonly RequestRecord[]): NonNullable<RunResult['byTurn']> {
  return statsBy(records, (r) => r.turnIndex + 1).map(({ key, stats }) => ({ turn: key, ttft: stats.ttft, latency: stats.latency }))
}
