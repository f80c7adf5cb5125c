import { describe, expect, test } from 'vitest'
import { csvCell, metricsSummaryCsv } from '../../src/report/index.ts'
import { dualRoundRun, METRICS, noSamples, roundResult, summary } from './fixtures.ts'

const warmTtft = summary({ avg: 41.152, p50: 59.002, p90: 70.5, p95: 75, p99: 80.125, min: 20.004, max: 90.995, stddev: 9.5 })

/** Round 1 cold (nothing cached); round 2 warm (half cached, faster TTFT, goodput measured). */
function coldWarmRun(): ReturnType<typeof dualRoundRun> {
  return dualRoundRun([
    roundResult(),
    roundResult({
      round: 2,
      metrics: { ...METRICS, ttft: warmTtft },
      cache: { promptTokens: 900, cachedTokens: 450, cachedShare: 0.5, reportedBy: 9 },
      goodput: { requests: 7, totalRequests: 10, requestShare: 0.7, tokens: 224, totalTokens: 320, tokenShare: 0.7, requestsPerS: 2.8, tokensPerS: 89.6 },
    }),
  ], {
    speedups: [
      { concurrency: 4, metric: 'ttft', stat: 'avg', cold: 123.456, warm: 41.152, ratio: 3, warmCachedShare: 0.5 },
      { concurrency: 4, metric: 'ttft', stat: 'p50', cold: 118.004, warm: 59.002, ratio: 2, warmCachedShare: 0.5 },
    ],
  })
}

describe('metrics_summary.csv', () => {
  test('the seed layout: a column per round, a block per metric in order, two decimals', () => {
    expect(metricsSummaryCsv(coldWarmRun())).toBe(`Metric/Round,Concurrency4-Round1,Concurrency4-Round2

TTFT (ms)
Average,123.46,41.15
Median,118.00,59.00
P90,150.50,70.50
P99,191.00,80.13
Min,80.10,20.00
Max,201.20,91.00
Stddev,30.13,9.50

ITL (ms)
Average,12.30,12.30
Median,12.10,12.10
P90,14.20,14.20
P99,17.40,17.40
Min,10.50,10.50
Max,18.60,18.60
Stddev,1.70,1.70

Latency (ms)
Average,520.50,520.50
Median,510.00,510.00
P90,600.00,600.00
P99,700.00,700.00
Min,400.00,400.00
Max,710.00,710.00
Stddev,55.50,55.50

ITL gaps (ms)
Average,11.90,11.90
Median,11.80,11.80
P90,13.70,13.70
P99,16.50,16.50
Min,0.40,0.40
Max,19.30,19.30
Stddev,2.20,2.20

Input Tokens
Average,100.50,100.50
Median,100.00,100.00
P90,120.00,120.00
P99,130.00,130.00
Min,80.00,80.00
Max,131.00,131.00
Stddev,12.00,12.00

Output Tokens
Average,32.00,32.00
Median,32.00,32.00
P90,32.00,32.00
P99,32.00,32.00
Min,32.00,32.00
Max,32.00,32.00
Stddev,0.00,0.00

Requests
Total,10,10
Success,9,9
Failed,1,1
Duration (s),2.50,2.50

Throughput
Request Throughput (req/s),3.60,3.60
Token Throughput (tok/s),115.20,115.20

Goodput (SLO)
Requests Meeting SLO,,7
Requests Meeting SLO (%),,70
Tokens Meeting SLO,,224
Goodput (req/s),,2.80

Cache
Cached Prompt Tokens (%),0,50
TTFT Speedup Avg (R1/R2),,3.00
TTFT Speedup P50 (R1/R2),,2.00
`)
  })

  test('"ITL (ms)" carries TPOT (the seed\'s per-request ITL); the chunk gaps are "ITL gaps (ms)"', () => {
    const lines = metricsSummaryCsv(coldWarmRun()).split('\n')
    const averageAfter = (title: string): string | undefined => lines[lines.indexOf(title) + 1]
    expect(averageAfter('ITL (ms)')).toBe(`Average,${METRICS.tpot.avg.toFixed(2)},${METRICS.tpot.avg.toFixed(2)}`)
    expect(averageAfter('ITL gaps (ms)')).toBe(`Average,${METRICS.itl.avg.toFixed(2)},${METRICS.itl.avg.toFixed(2)}`)
  })

  test('columns follow the rounds; each level\'s speedup sits under its own round 2', () => {
    const level = (c: number, ttft: number) => [
      roundResult({ concurrency: c, metrics: { ...METRICS, ttft: summary({ avg: ttft }) } }),
      roundResult({ concurrency: c, round: 2, metrics: { ...METRICS, ttft: summary({ avg: ttft / 2 }) } }),
    ]
    const run = dualRoundRun([...level(1, 50), ...level(8, 300)], {
      speedups: [
        { concurrency: 1, metric: 'ttft', stat: 'avg', cold: 50, warm: 25, ratio: 2, warmCachedShare: null },
        { concurrency: 8, metric: 'ttft', stat: 'avg', cold: 300, warm: 150, ratio: 4.125, warmCachedShare: null },
      ],
    })
    const csv = metricsSummaryCsv(run)
    expect(csv.split('\n')[0]).toBe('Metric/Round,Concurrency1-Round1,Concurrency1-Round2,Concurrency8-Round1,Concurrency8-Round2')
    expect(csv).toContain('\nTTFT (ms)\nAverage,50.00,25.00,300.00,150.00\n')
    expect(csv).toContain('\nTTFT Speedup Avg (R1/R2),,2.00,,4.13\n')
    // No p50 speedup was computed: empty cells, not zeros.
    expect(csv).toContain('\nTTFT Speedup P50 (R1/R2),,,,\n')
  })

  test('no goodput block without an SLO; a metric without samples has empty cells, never zeros', () => {
    const run = dualRoundRun([roundResult({ metrics: { ...METRICS, tpot: noSamples() } })])
    const csv = metricsSummaryCsv(run)
    expect(csv).not.toContain('Goodput')
    expect(csv).toContain('\nITL (ms)\nAverage,\nMedian,\nP90,\nP99,\nMin,\nMax,\nStddev,\n')
    expect(csv.endsWith('\nCache\nCached Prompt Tokens (%),0\nTTFT Speedup Avg (R1/R2),\nTTFT Speedup P50 (R1/R2),\n')).toBe(true)
  })

  test('a server that reports no cached counts leaves the cached share empty', () => {
    const run = dualRoundRun([roundResult({ cache: { promptTokens: 900, cachedTokens: 0, cachedShare: null, reportedBy: 0 } })])
    expect(metricsSummaryCsv(run)).toContain('\nCached Prompt Tokens (%),\n')
  })

  test('csvCell quotes only cells with a comma, a quote or a newline', () => {
    expect(csvCell('Concurrency4-Round1')).toBe('Concurrency4-Round1')
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('say "hi"')).toBe('"say ""hi"""')
    expect(csvCell('two\nlines')).toBe('"two\nlines"')
  })
})
