import { MetricRecorder } from '../metrics/index.ts'
import type { MetricSummary, RequestRecord, TurnStats } from '../types.ts'

/** TTFT and latency of one group of requests (over its successful requests). */
export interface GroupStats {
  /** Every request of the group, failed ones included. */
  requests: number
  ttft: MetricSummary
  latency: MetricSummary
  histograms: { ttft: string; latency: string }
}

/**
 * TTFT and latency per key (turn number, document type), accumulated as requests end, in constant memory
 * per key: the records themselves are not kept.
 */
export class GroupedStats<K extends string | number> {
  private readonly groups = new Map<K, { requests: number; ttft: MetricRecorder; latency: MetricRecorder }>()

  add(key: K, r: RequestRecord): void {
    let g = this.groups.get(key)
    if (!g) this.groups.set(key, (g = { requests: 0, ttft: new MetricRecorder(), latency: new MetricRecorder() }))
    g.requests++
    if (!r.ok) return
    if (r.ttftMs !== null) g.ttft.record(r.ttftMs)
    g.latency.record(r.latencyMs)
  }

  /** Every group, keys sorted. */
  summary(): { key: K; stats: GroupStats }[] {
    return [...this.groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, g]) => ({ key: k, stats: { requests: g.requests, ttft: g.ttft.summary(), latency: g.latency.summary(), histograms: { ttft: g.ttft.encode(), latency: g.latency.encode() } } }))
  }
}

/** Per-turn statistics (`RunResult.byTurn`) from stats grouped by 1-based turn number. */
export function turnStats(byTurn: GroupedStats<number>): TurnStats[] {
  return byTurn.summary().map(({ key, stats }) => ({ turn: key, ttft: stats.ttft, latency: stats.latency, histograms: stats.histograms }))
}
