/**
 * What Prometheus samples taken around a round become (pure functions; the scraping is in
 * prometheusScrape.ts):
 * - counters (and any `_total`, `_count`, `_sum` series): the increase over the round and its rate per
 *   second — never statistics of cumulative values; a counter that goes down was reset and counts from 0,
 *   as PromQL's `increase()` does;
 * - gauges (and untyped series): statistics over the samples taken during the round;
 * - histograms: the increase of every cumulative `le` bucket, with the count and sum increases, the mean
 *   and quantiles estimated from the buckets (linear interpolation, as `histogram_quantile()`);
 * - vLLM's prefix-cache hit rate: Δhits / Δqueries of its `prefix_cache_hits`/`prefix_cache_queries`
 *   counters, computed whenever the endpoint exposes them, requested or not.
 */

import type { MetricSummary, PrometheusHistogramDelta, PrometheusRoundSummary } from '../types.ts'
import { selectSeries } from './prometheusSelector.ts'
import type { MetricSelector } from './prometheusSelector.ts'
import type { Exposition, PrometheusSeries } from './prometheusText.ts'
import { seriesId } from './prometheusText.ts'

/** How to sample a Prometheus endpoint during a run. */
export interface PrometheusOptions {
  /** The target's exposition URL, e.g. `http://127.0.0.1:8000/metrics` (vLLM serves it on the API port). */
  url: string
  /**
   * Metric selectors: names with optional label matchers, e.g. `vllm:prefix_cache_hits_total{model_name="m"}`.
   * @default {@link DEFAULT_METRICS} (those the endpoint has)
   */
  metrics?: string[]
  /**
   * `round`: scrape before and after each round and every `intervalS` seconds in between (light on the server).
   * `request`: also scrape before and after every request and report per-request deltas (the Python tools' way;
   * it adds two scrapes per request, which loads the server at high concurrency). @default 'round'
   */
  mode?: 'round' | 'request'
  /** Seconds between scrapes during a round in `round` mode. @default 5 */
  intervalS?: number
  /** Timeout of one scrape, ms. @default 5000 */
  timeoutMs?: number
}

/**
 * Reported when no `--prometheus-metrics` are given, each only if the endpoint exposes it: the main load,
 * queue, KV-cache and token series of vLLM, SGLang, llama.cpp's server (`--metrics`) and TGI.
 */
export const DEFAULT_METRICS = [
  'vllm:num_requests_running',
  'vllm:num_requests_waiting',
  'vllm:gpu_cache_usage_perc',
  'vllm:kv_cache_usage_perc',
  'vllm:prompt_tokens_total',
  'vllm:generation_tokens_total',
  'vllm:time_to_first_token_seconds',
  'sglang:num_running_reqs',
  'sglang:num_queue_reqs',
  'sglang:token_usage',
  'sglang:cache_hit_rate',
  'sglang:prompt_tokens_total',
  'sglang:generation_tokens_total',
  'sglang:time_to_first_token_seconds',
  'llamacpp:requests_processing',
  'llamacpp:requests_deferred',
  'llamacpp:kv_cache_usage_ratio',
  'llamacpp:prompt_tokens_total',
  'llamacpp:tokens_predicted_total',
  'llamacpp:prompt_seconds_total',
  'llamacpp:tokens_predicted_seconds_total',
  'tgi_queue_size',
  'tgi_batch_current_size',
  'tgi_request_count',
  'tgi_request_input_length',
  'tgi_request_generated_tokens',
  'tgi_request_duration',
]

/** vLLM's prefix-cache counters (V1 names first, then V0's `gpu_` names), as (hits, queries) pairs. */
const PREFIX_CACHE_PAIRS: [string, string][] = [
  ['vllm:prefix_cache_hits_total', 'vllm:prefix_cache_queries_total'],
  ['vllm:prefix_cache_hits', 'vllm:prefix_cache_queries'],
  ['vllm:gpu_prefix_cache_hits_total', 'vllm:gpu_prefix_cache_queries_total'],
  ['vllm:gpu_prefix_cache_hits', 'vllm:gpu_prefix_cache_queries'],
]

/** The selected values of one successful scrape. */
export interface Reading {
  /** `performance.now()` when the scrape's answer arrived. */
  at: number
  /** Counter-like series, summed over the series a selector picks. */
  counters: Map<string, number>
  gauges: Map<string, number>
  /** Histogram buckets by `le`, summed over the series a selector picks. */
  buckets: Map<string, Map<string, number>>
  /** vLLM prefix-cache counters, summed over every label set. */
  prefixCache?: { hits: number; queries: number }
  /** Selectors that matched no series. */
  unmatched: string[]
}

/** Picks the selected values out of a scrape. */
export function readSelected(exposition: Exposition, selectors: readonly MetricSelector[], at: number): Reading {
  const reading: Reading = { at, counters: new Map(), gauges: new Map(), buckets: new Map(), unmatched: [] }
  for (const selector of selectors) {
    const matched = selectSeries(selector, exposition.series)
    if (matched.length === 0) {
      reading.unmatched.push(selector.text)
      continue
    }
    const gauges = matched.filter((s) => roleOf(s) === 'gauge')
    for (const s of matched) {
      const role = roleOf(s)
      if (role === 'bucket') {
        const key = keyOf(selector, s.family)
        let buckets = reading.buckets.get(key)
        if (!buckets) reading.buckets.set(key, (buckets = new Map()))
        const le = normaliseLe(s.labels['le'] as string)
        buckets.set(le, (buckets.get(le) ?? 0) + s.value)
      } else if (role === 'counter') {
        const key = keyOf(selector, s.name)
        reading.counters.set(key, (reading.counters.get(key) ?? 0) + s.value)
      } else if (Number.isFinite(s.value)) {
        reading.gauges.set(gauges.length === 1 ? keyOf(selector, s.name) : seriesId(s.name, s.labels), s.value)
      }
    }
  }
  for (const [hits, queries] of PREFIX_CACHE_PAIRS) {
    const h = exposition.series.filter((s) => s.name === hits)
    const q = exposition.series.filter((s) => s.name === queries)
    if (h.length === 0 || q.length === 0) continue
    reading.prefixCache = { hits: sum(h), queries: sum(q) }
    break
  }
  return reading
}

function roleOf(s: PrometheusSeries): 'counter' | 'gauge' | 'bucket' {
  if (s.type === 'histogram' && s.name.endsWith('_bucket') && s.labels['le'] !== undefined) return 'bucket'
  if (s.type === 'counter') return 'counter'
  if (s.type === 'gauge') return 'gauge'
  // histogram and summary _sum/_count, and untyped series named like counters
  return /_(total|count|sum)$/.test(s.name) ? 'counter' : 'gauge'
}

/** The report key: the selector as written, or the series name with the selector's label matchers. */
function keyOf(selector: MetricSelector, name: string): string {
  if (name === selector.name) return selector.text
  const brace = selector.text.indexOf('{')
  return brace === -1 ? name : name + selector.text.slice(brace)
}

function normaliseLe(le: string): string {
  const n = Number(le)
  return /^\+?inf$/i.test(le.trim()) ? '+Inf' : Number.isFinite(n) ? String(n) : le
}

function sum(series: PrometheusSeries[]): number {
  return series.reduce((n, s) => n + (Number.isFinite(s.value) ? s.value : 0), 0)
}

/** PromQL's increase() over a sequence: a drop is a counter reset, after which the counter starts from 0. */
export function increase(values: readonly number[]): number {
  let total = 0
  for (let i = 1; i < values.length; i++) {
    const prev = values[i - 1] as number
    const cur = values[i] as number
    total += cur >= prev ? cur - prev : cur
  }
  return total
}

/** Everything the sampler gathered for one round. */
export interface RoundSamples {
  /** Successful scrapes, in the order their answers arrived. */
  readings: Reading[]
  failedScrapes: number
  firstScrapeError?: string
  /** Request mode: the increase of each counter over each request (before → after). */
  perRequest?: Map<string, number[]>
  /** The selectors the user asked for (not the defaults): those never matched are listed as missing. */
  requested?: readonly string[]
}

/** Turns a round's samples into its summary. */
export function summariseSamples(samples: RoundSamples): PrometheusRoundSummary {
  const readings = [...samples.readings].sort((a, b) => a.at - b.at)
  const summary: PrometheusRoundSummary = { counters: {}, gauges: {}, failedScrapes: samples.failedScrapes, scrapes: readings.length }
  if (samples.firstScrapeError !== undefined) summary.firstScrapeError = samples.firstScrapeError

  for (const key of keysOf(readings, (r) => r.counters)) {
    const points = fromZero(readings, (r) => r.counters.get(key))
    if (points.length < 2) continue
    const delta = increase(points.map((p) => p.value))
    const seconds = ((points.at(-1) as Point).at - (points[0] as Point).at) / 1000
    summary.counters[key] = { delta, ratePerS: seconds > 0 ? delta / seconds : 0 }
  }
  for (const key of keysOf(readings, (r) => r.gauges)) {
    summary.gauges[key] = exactSummary(readings.flatMap((r) => (r.gauges.has(key) ? [r.gauges.get(key) as number] : [])))
  }
  const histograms: Record<string, PrometheusHistogramDelta> = {}
  for (const key of keysOf(readings, (r) => r.buckets)) {
    if (readings.length < 2) continue
    const les = [...new Set(readings.flatMap((r) => [...(r.buckets.get(key)?.keys() ?? [])]))]
    les.sort((a, b) => leValue(a) - leValue(b))
    const buckets = les.map((le) => ({ le, count: increase(fromZero(readings, (r) => r.buckets.get(key)?.get(le)).map((p) => p.value)) }))
    histograms[key] = histogramDelta(buckets, summary.counters[sibling(key, '_sum')]?.delta)
  }
  if (Object.keys(histograms).length > 0) summary.histograms = histograms

  const cache = readings.filter((r) => r.prefixCache)
  if (cache.length >= 2) {
    const hits = increase(cache.map((r) => r.prefixCache?.hits as number))
    const queries = increase(cache.map((r) => r.prefixCache?.queries as number))
    summary.prefixCache = { hits, queries }
    if (queries > 0) summary.prefixCacheHitRate = hits / queries
  }
  if (samples.perRequest && samples.perRequest.size > 0) {
    summary.perRequest = Object.fromEntries([...samples.perRequest].map(([key, deltas]) => [key, exactSummary(deltas)]))
  }
  if (samples.requested && samples.requested.length > 0) {
    const missing = samples.requested.filter((text) => readings.length > 0 && readings.every((r) => r.unmatched.includes(text)))
    if (missing.length > 0) summary.missing = missing
  }
  return summary
}

interface Point {
  at: number
  value: number
}

/**
 * The values of one counter series over the readings. Readings before the series first appears count as 0:
 * client libraries create a labelled counter or histogram on its first increment (prom-client, the Python
 * client), so a series born during the round grew from 0.
 */
function fromZero(readings: readonly Reading[], pick: (r: Reading) => number | undefined): Point[] {
  const points: Point[] = []
  let seen = false
  for (const r of readings) {
    const v = pick(r)
    if (v !== undefined) seen = true
    if (v !== undefined || !seen) points.push({ at: r.at, value: v ?? 0 })
  }
  return seen ? points : []
}

function keysOf<T>(readings: readonly Reading[], pick: (r: Reading) => Map<string, T>): string[] {
  return [...new Set(readings.flatMap((r) => [...pick(r).keys()]))]
}

/** `name{...}` → `name_sum{...}` for a histogram key. */
function sibling(key: string, suffix: string): string {
  const brace = key.indexOf('{')
  return brace === -1 ? key + suffix : key.slice(0, brace) + suffix + key.slice(brace)
}

function leValue(le: string): number {
  return le === '+Inf' ? Infinity : Number(le)
}

/** Bucket increases → count, sum, mean and estimated quantiles. */
export function histogramDelta(buckets: { le: string; count: number }[], sumDelta: number | undefined): PrometheusHistogramDelta {
  const count = buckets.find((b) => b.le === '+Inf')?.count ?? buckets.at(-1)?.count ?? 0
  const out: PrometheusHistogramDelta = { count, buckets }
  if (sumDelta !== undefined) {
    out.sum = sumDelta
    if (count > 0) out.mean = sumDelta / count
  }
  if (count > 0) {
    out.p50 = bucketQuantile(0.5, buckets)
    out.p90 = bucketQuantile(0.9, buckets)
    out.p99 = bucketQuantile(0.99, buckets)
  }
  return out
}

/**
 * A quantile estimated from cumulative buckets as PromQL's `histogram_quantile()` does: linear
 * interpolation inside the bucket the rank falls in (from 0 for the first bucket); a rank in the `+Inf`
 * bucket gives the highest finite bound.
 */
export function bucketQuantile(q: number, buckets: readonly { le: string; count: number }[]): number | undefined {
  const sorted = [...buckets].sort((a, b) => leValue(a.le) - leValue(b.le))
  const total = sorted.at(-1)?.count ?? 0
  if (total <= 0) return undefined
  const rank = q * total
  let prevLe = 0
  let prevCount = 0
  for (const b of sorted) {
    const le = leValue(b.le)
    if (b.count >= rank) {
      if (le === Infinity) return prevLe
      if (b.count === prevCount) return le
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (b.count - prevCount)
    }
    prevLe = le
    prevCount = b.count
  }
  return prevLe
}

/** Exact statistics of a list of values (percentiles by linear interpolation between closest ranks). */
export function exactSummary(values: readonly number[]): MetricSummary {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b)
  const n = v.length
  if (n === 0) return { count: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, min: 0, max: 0, stddev: 0 }
  const avg = v.reduce((a, b) => a + b, 0) / n
  const variance = v.reduce((a, b) => a + (b - avg) ** 2, 0) / n
  const pct = (p: number): number => {
    const rank = (p / 100) * (n - 1)
    const lo = Math.floor(rank)
    const hi = Math.ceil(rank)
    return (v[lo] as number) + ((v[hi] as number) - (v[lo] as number)) * (rank - lo)
  }
  return { count: n, avg, p50: pct(50), p90: pct(90), p95: pct(95), p99: pct(99), min: v[0] as number, max: v[n - 1] as number, stddev: Math.sqrt(variance) }
}
