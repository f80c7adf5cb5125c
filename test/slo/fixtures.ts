import { healthyClient } from '../helpers/runs.ts'
import { MetricRecorder } from '../../src/metrics/histogram.ts'
import type { MetricName, RoundResult, RunResult } from '../../src/types.ts'

/** Summary and encoded histogram of `values`, recorded like a round does (scale 1000 for times, 1 for tokens). */
export function recorded(values: number[], scale = 1000): { summary: RoundResult['metrics'][MetricName] & object; histogram: string } {
  const rec = new MetricRecorder(scale)
  for (const v of values) rec.record(v)
  return { summary: rec.summary(), histogram: rec.encode() }
}

/** A round with the given metric samples; every other field has a plain, consistent default. */
export function round(options: {
  label?: string
  concurrency?: number
  round?: number
  total?: number
  failed?: number
  durationS?: number
  samples?: Partial<Record<MetricName, number[]>>
  goodput?: RoundResult['goodput']
  throughput?: Partial<RoundResult['throughput']>
} = {}): RoundResult {
  const concurrency = options.concurrency ?? 4
  const r = options.round ?? 1
  const total = options.total ?? 10
  const failed = options.failed ?? 0
  const metrics: RoundResult['metrics'] = {}
  const histograms: RoundResult['histograms'] = {}
  for (const [name, values] of Object.entries(options.samples ?? {}) as [MetricName, number[]][]) {
    const { summary, histogram } = recorded(values, name === 'inputTokens' || name === 'outputTokens' ? 1 : 1000)
    metrics[name] = summary
    histograms[name] = histogram
  }
  const result: RoundResult = {
    label: options.label ?? `Concurrency${concurrency}-Round${r}`,
    concurrency,
    round: r,
    total,
    succeeded: total - failed,
    failed,
    durationS: options.durationS ?? 2,
    avgInputTokens: 100,
    avgOutputTokens: 50,
    metrics,
    histograms,
    throughput: { requestsPerS: 5, outputTokensPerS: 250, inputTokensPerS: 500, ...options.throughput },
    cache: { promptTokens: 0, cachedTokens: 0, cachedShare: null, reportedBy: 0 },
    errors: failed > 0 ? [{ kind: 'timeout', count: failed, firstMessage: 'timed out' }] : [],
  }
  if (options.goodput) result.goodput = options.goodput
  return result
}

/** A run of the given rounds. */
export function run(rounds: RoundResult[]): RunResult {
  return {
    schemaVersion: 2,
    tool: { name: 'fluxperf', version: '0.0.0-test' },
    workload: 'dual-round',
    endpoint: 'http://127.0.0.1:1/v1/chat/completions',
    model: 'test',
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:10.000Z',
    seed: 1,
    config: {},
    interrupted: false,
    client: healthyClient(1),
    rounds,
    speedups: [],
  }
}

/** Goodput of `requests` out of `total` over `durationS`. */
export function goodput(requests: number, total: number, durationS = 2): NonNullable<RoundResult['goodput']> {
  return {
    requests,
    totalRequests: total,
    requestShare: total ? requests / total : 0,
    tokens: requests * 50,
    totalTokens: total * 50,
    tokenShare: total ? requests / total : 0,
    requestsPerS: requests / durationS,
    tokensPerS: (requests * 50) / durationS,
  }
}

/** 1, 2, ..., n. */
export function oneTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1)
}
