import { describe, expect, test } from 'vitest'
import { bucketQuantile, exactSummary, increase, readSelected, summariseSamples } from '../../src/metrics/prometheus.ts'
import type { Reading } from '../../src/metrics/prometheus.ts'
import { labelsMatch, parseSelector, selectSeries } from '../../src/metrics/prometheusSelector.ts'
import { ExpositionFormatError, parseExposition } from '../../src/metrics/prometheusText.ts'
import { InputError } from '../../src/errors.ts'

/** What vLLM (Python client) exposes: colons in names, labelled histograms, `_created` gauges. */
const VLLM_TEXT = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
# HELP vllm:prefix_cache_queries_total Prefix cache queries.
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="m"} 1000.0
# HELP vllm:prefix_cache_hits_total Prefix cache hits.
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="m"} 250.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_sum{engine="0",model_name="m"} 1.5
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="m"} 4.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.5",model_name="m"} 9.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 10.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="m"} 10.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="other"} 1.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.5",model_name="other"} 1.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="other"} 1.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="other"} 1.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="other"} 0.05
# HELP vllm:request_success_created Count of successfully processed requests.
# TYPE vllm:request_success_created gauge
vllm:request_success_created{finished_reason="stop",model_name="m"} 1.7e+09
`

describe('parseExposition (parse-prometheus-text-format, with its labelled-histogram defect worked around)', () => {
  test('keeps every labelled histogram series with its labels, and the family types', () => {
    const e = parseExposition(VLLM_TEXT)
    const buckets = e.series.filter((s) => s.name === 'vllm:time_to_first_token_seconds_bucket')
    expect(buckets).toHaveLength(6)
    expect(buckets[0]).toMatchObject({ family: 'vllm:time_to_first_token_seconds', type: 'histogram', labels: { engine: '0', le: '0.1', model_name: 'm' }, value: 4 })
    const sums = e.series.filter((s) => s.name === 'vllm:time_to_first_token_seconds_sum')
    expect(sums.map((s) => s.labels['model_name'])).toEqual(['m', 'other'])
    expect(e.families.get('vllm:time_to_first_token_seconds')).toMatchObject({ type: 'histogram', samples: 10 })
    expect(e.families.get('vllm:prefix_cache_hits_total')?.type).toBe('counter')
    expect(e.families.get('vllm:num_requests_running')?.type).toBe('gauge')
  })

  test('label escaping, special values, OpenMetrics counters and a text without a final newline', () => {
    const e = parseExposition([
      '# TYPE files counter',
      'files_total{path="C:\\\\DIR\\\\F.TXT",err="say \\"no\\"\\nthen stop"} 7',
      'files_created{path="C:\\\\DIR\\\\F.TXT"} 1.7e9',
      'temp_celsius NaN',
      'upper +Inf',
      '# EOF',
      'last_one 4',
    ].join('\n'))
    const files = e.series.find((s) => s.name === 'files_total')
    expect(files).toMatchObject({ family: 'files', type: 'counter', value: 7, labels: { path: 'C:\\DIR\\F.TXT', err: 'say "no"\nthen stop' } })
    expect(Number.isNaN(e.series.find((s) => s.name === 'temp_celsius')?.value)).toBe(true)
    expect(e.series.find((s) => s.name === 'upper')?.value).toBe(Infinity)
    expect(e.series.find((s) => s.name === 'last_one')?.value).toBe(4)
  })

  test.each([
    ['an HTML page', '<!DOCTYPE html>\n<html><body>Prometheus</body></html>'],
    ['JSON', '{"status":"success","data":{"result":[]}}'],
    ['prose', 'hello world'],
    ['a broken label', 'x{a="1" b="2"} 3'],
  ])('rejects %s', (_, text) => {
    expect(() => parseExposition(text)).toThrow(ExpositionFormatError)
  })

  test('an empty exposition is valid and empty', () => {
    expect(parseExposition('# HELP nothing yet\n').series).toEqual([])
  })
})

describe('metric selectors', () => {
  const e = parseExposition(VLLM_TEXT)

  test('a name with label matchers picks the matching series (=, !=, =~)', () => {
    expect(selectSeries(parseSelector('vllm:prefix_cache_hits_total{model_name="m"}'), e.series)).toHaveLength(1)
    expect(selectSeries(parseSelector('vllm:prefix_cache_hits_total{model_name="x"}'), e.series)).toHaveLength(0)
    expect(selectSeries(parseSelector('vllm:time_to_first_token_seconds{model_name!="m"}'), e.series)).toHaveLength(5)
    expect(selectSeries(parseSelector('vllm:time_to_first_token_seconds{model_name=~"o.*"}'), e.series)).toHaveLength(5)
  })

  test('a counter named without _total finds the _total series; a family name finds its _bucket/_sum/_count', () => {
    expect(selectSeries(parseSelector('vllm:prefix_cache_hits'), e.series).map((s) => s.name)).toEqual(['vllm:prefix_cache_hits_total'])
    expect(selectSeries(parseSelector('vllm:time_to_first_token_seconds'), e.series)).toHaveLength(10)
  })

  test('escaped quotes in a matcher value, and a missing label is the empty string', () => {
    const s = parseSelector('x{a="say \\"hi\\"", b=""}')
    expect(s.matchers).toEqual([{ label: 'a', op: '=', value: 'say "hi"' }, { label: 'b', op: '=', value: '' }])
    expect(labelsMatch(s, { a: 'say "hi"' })).toBe(true)
  })

  test.each(['', '9lives', 'x{a=1}', 'x{a="1"', 'x{a=~"("}'])('a malformed selector %j is an InputError naming --prometheus-metrics', (text) => {
    expect(() => parseSelector(text)).toThrow(InputError)
    expect(() => parseSelector(text)).toThrow(/--prometheus-metrics/)
  })
})

describe('round summaries: counters are deltas, gauges statistics, histograms bucket deltas', () => {
  const exposition = (running: number, queries: number, hits: number, b01: number, b05: number, inf: number, sum: number): string =>
    [
      '# TYPE vllm:num_requests_running gauge',
      `vllm:num_requests_running{model_name="m"} ${running}`,
      '# TYPE vllm:prefix_cache_queries_total counter',
      `vllm:prefix_cache_queries_total{model_name="m"} ${queries}`,
      '# TYPE vllm:prefix_cache_hits_total counter',
      `vllm:prefix_cache_hits_total{model_name="m"} ${hits}`,
      '# TYPE ttft histogram',
      `ttft_bucket{model_name="m",le="0.1"} ${b01}`,
      `ttft_bucket{model_name="m",le="0.5"} ${b05}`,
      `ttft_bucket{model_name="m",le="+Inf"} ${inf}`,
      `ttft_sum{model_name="m"} ${sum}`,
      `ttft_count{model_name="m"} ${inf}`,
    ].join('\n')
  const selectors = ['vllm:num_requests_running', 'vllm:prefix_cache_queries_total', 'ttft'].map((m) => parseSelector(m))
  const reading = (at: number, ...args: Parameters<typeof exposition>): Reading => readSelected(parseExposition(exposition(...args)), selectors, at)

  test('deltas and rates of counters, statistics of gauges, the derived prefix-cache hit rate', () => {
    const summary = summariseSamples({
      readings: [reading(0, 0, 1000, 200, 0, 0, 0, 0), reading(1000, 4, 1500, 500, 2, 3, 3, 0.6), reading(2000, 2, 2000, 800, 4, 7, 8, 2)],
      failedScrapes: 1,
      firstScrapeError: 'connection refused',
    })
    expect(summary.counters['vllm:prefix_cache_queries_total']).toEqual({ delta: 1000, ratePerS: 500 })
    expect(summary.gauges['vllm:num_requests_running']).toMatchObject({ count: 3, avg: 2, min: 0, max: 4 })
    expect(summary.prefixCache).toEqual({ hits: 600, queries: 1000 })
    expect(summary.prefixCacheHitRate).toBeCloseTo(0.6)
    expect(summary.failedScrapes).toBe(1)
    expect(summary.firstScrapeError).toBe('connection refused')
    const h = summary.histograms?.['ttft']
    expect(h?.buckets).toEqual([{ le: '0.1', count: 4 }, { le: '0.5', count: 7 }, { le: '+Inf', count: 8 }])
    expect(h).toMatchObject({ count: 8, sum: 2 })
    expect(h?.mean).toBeCloseTo(0.25)
    // the median's rank (4) falls at the top of the first bucket
    expect(h?.p50).toBeCloseTo(0.1)
    // the sum/count of a histogram stay counters in the JSON
    expect(summary.counters['ttft_count']?.delta).toBe(8)
  })

  test('a counter reset (server restarted) counts from zero, as increase() does', () => {
    expect(increase([100, 150, 20, 50])).toBe(50 + 20 + 30)
    const summary = summariseSamples({ readings: [reading(0, 0, 900, 0, 0, 0, 0, 0), reading(1000, 0, 100, 0, 0, 0, 0, 0)], failedScrapes: 0 })
    expect(summary.counters['vllm:prefix_cache_queries_total']?.delta).toBe(100)
  })

  test('a series that first appears during the round grew from 0', () => {
    const empty = readSelected(parseExposition('# TYPE ttft histogram\n'), selectors, 0)
    const summary = summariseSamples({ readings: [empty, reading(1000, 1, 10, 0, 1, 2, 2, 0.3)], failedScrapes: 0 })
    expect(summary.histograms?.['ttft']?.count).toBe(2)
  })

  test('requested metrics that never appear are listed as missing; a single scrape gives no delta', () => {
    const sel = [parseSelector('nope_total')]
    const r = readSelected(parseExposition(exposition(1, 10, 5, 0, 0, 0, 0)), sel, 0)
    const summary = summariseSamples({ readings: [r], failedScrapes: 0, requested: ['nope_total'] })
    expect(summary.missing).toEqual(['nope_total'])
    expect(summary.counters).toEqual({})
    expect(summary.prefixCacheHitRate).toBeUndefined()
  })

  test('bucketQuantile interpolates inside a bucket and stops at the highest finite bound', () => {
    const buckets = [{ le: '1', count: 0 }, { le: '2', count: 10 }, { le: '+Inf', count: 20 }]
    expect(bucketQuantile(0.25, buckets)).toBeCloseTo(1.5)
    expect(bucketQuantile(0.99, buckets)).toBe(2)
    expect(bucketQuantile(0.5, [{ le: '+Inf', count: 0 }])).toBeUndefined()
  })

  test('exactSummary', () => {
    expect(exactSummary([4, 1, 3, 2])).toMatchObject({ count: 4, avg: 2.5, p50: 2.5, min: 1, max: 4 })
    expect(exactSummary([])).toMatchObject({ count: 0, avg: 0 })
  })
})
