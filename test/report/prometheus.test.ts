import { describe, expect, test } from 'vitest'
import { formatPrometheus, metricsSummaryCsv, prometheusCsvLines } from '../../src/report/index.ts'
import { dualRoundRun, roundResult, summary } from './fixtures.ts'

/** Round 1 scraped fully (counters, a gauge, a histogram, vLLM's prefix-cache counters); round 2 partly, two scrapes failed. */
function scrapedRun(): ReturnType<typeof dualRoundRun> {
  return dualRoundRun([roundResult(), roundResult({ round: 2 })], {
    config: { samples: 10, prometheus: { url: 'http://127.0.0.1:8000/metrics', mode: 'round' } },
    prometheus: {
      'Concurrency4-Round1': {
        counters: {
          'vllm:prompt_tokens_total': { delta: 1200, ratePerS: 480 },
          // The histogram's own _count series: shown in the histogram block, not as a counter.
          'vllm:e2e_request_latency_seconds_count': { delta: 10, ratePerS: 4 },
        },
        gauges: { 'vllm:num_requests_running': summary({ count: 5, avg: 3.5, p50: 4, p90: 4, p95: 4, p99: 4, min: 2, max: 4, stddev: 0.5 }) },
        prefixCacheHitRate: 0.0125,
        prefixCache: { hits: 16, queries: 1280 },
        histograms: {
          'vllm:e2e_request_latency_seconds': { count: 10, sum: 5.2, mean: 0.52, p50: 0.5, p90: 0.61, p99: 0.7, buckets: [{ le: '0.5', count: 5 }, { le: '+Inf', count: 10 }] },
        },
        failedScrapes: 0,
        scrapes: 3,
      },
      'Concurrency4-Round2': {
        counters: { 'vllm:prompt_tokens_total': { delta: 1200, ratePerS: 600 } },
        gauges: {},
        prefixCacheHitRate: 0.75,
        prefixCache: { hits: 960, queries: 1280 },
        failedScrapes: 2,
        firstScrapeError: 'connect ECONNREFUSED',
        scrapes: 1,
        missing: ['lmcache_hit_rate'],
      },
    },
  })
}

describe('the Prometheus console section', () => {
  test('a table per block, a column per round: whole numbers as such, others to 4 decimals, - where a round has none', () => {
    const lines = formatPrometheus(scrapedRun()).split('\n')
    expect(lines.map((l) => l.trimEnd())).toEqual([
      '='.repeat(72),
      'Prometheus metrics from http://127.0.0.1:8000/metrics (round mode)',
      '='.repeat(72),
      '                              Concurrency4-Round1  Concurrency4-Round2',
      'Prefix cache hit rate (derived: Δhits / Δqueries)',
      '  Hit Rate                    0.0125               0.7500',
      '  Hits (tokens)               16                   960',
      '  Queries (tokens)            1280                 1280',
      'vllm:prompt_tokens_total (counter)',
      '  Delta                       1200                 1200',
      '  Rate (/s)                   480                  600',
      'vllm:num_requests_running (gauge)',
      '  Average                     3.5000               -',
      '  P50                         4                    -',
      '  P90                         4                    -',
      '  P99                         4                    -',
      '  Min                         2                    -',
      '  Max                         4                    -',
      '  Stddev                      0.5000               -',
      'vllm:e2e_request_latency_seconds (histogram)',
      '  Count                       10                   -',
      '  Mean                        0.5200               -',
      '  P50 (est.)                  0.5000               -',
      '  P90 (est.)                  0.6100               -',
      '  P99 (est.)                  0.7000               -',
      'Scrapes',
      '  Succeeded                   3                    1',
      '  Failed                      0                    2',
      '',
      '2 scrapes failed; first: connect ECONNREFUSED',
      '',
      'Not found on the endpoint: lmcache_hit_rate',
    ])
    // Every value column is as wide as its round label plus two.
    expect(lines[5]).toBe('  Hit Rate'.padEnd(30) + '0.0125'.padEnd(21) + '0.7500'.padEnd(21))
  })

  test('nothing without samples', () => {
    expect(formatPrometheus(dualRoundRun())).toBe('')
    expect(prometheusCsvLines(dualRoundRun())).toEqual([])
  })
})

describe('the Prometheus blocks of metrics_summary.csv', () => {
  test('a titled block per metric after the Cache block, a cell per round column, empty where a round has none', () => {
    const run = scrapedRun()
    expect(prometheusCsvLines(run).join('\n')).toBe(`
Prometheus: Prefix cache hit rate (derived: Δhits / Δqueries)
Hit Rate,0.0125,0.7500
Hits (tokens),16,960
Queries (tokens),1280,1280

Prometheus: vllm:prompt_tokens_total (counter)
Delta,1200,1200
Rate (/s),480,600

Prometheus: vllm:num_requests_running (gauge)
Average,3.5000,
P50,4,
P90,4,
P99,4,
Min,2,
Max,4,
Stddev,0.5000,

Prometheus: vllm:e2e_request_latency_seconds (histogram)
Count,10,
Mean,0.5200,
P50 (est.),0.5000,
P90 (est.),0.6100,
P99 (est.),0.7000,

Prometheus: Scrapes
Succeeded,3,1
Failed,0,2`)
    expect(metricsSummaryCsv(run)).toContain('\nTTFT Speedup P50 (R1/R2),,\n\nPrometheus: Prefix cache hit rate')
  })

  test('cells follow the file\'s round columns even when only a later round was scraped', () => {
    const run = dualRoundRun([roundResult(), roundResult({ round: 2 })], {
      prometheus: { 'Concurrency4-Round2': { counters: { requests_total: { delta: 7, ratePerS: 3.5 } }, gauges: {}, failedScrapes: 0, scrapes: 2 } },
    })
    expect(prometheusCsvLines(run)).toEqual(['', 'Prometheus: requests_total (counter)', 'Delta,,7', 'Rate (/s),,3.5000', '', 'Prometheus: Scrapes', 'Succeeded,,2', 'Failed,,0'])
  })
})
