import { describe, expect, test } from 'vitest'
import { compareWithBaseline } from '../../src/baseline/index.ts'
import type { MetricName } from '../../src/types.ts'
import { dualRoundRun, METRICS, recordedMetrics, roundResult } from '../report/fixtures.ts'

/** `n` evenly spread values from `from` to `to`. */
function spread(n: number, from: number, to: number): number[] {
  return Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1))
}

/** A one-round run of 200 requests whose TTFT, TPOT and latency are those of the reference run times `scale`. */
function runAt(scale: number, label = 'Concurrency4-Round1'): ReturnType<typeof dualRoundRun> {
  const samples: Partial<Record<MetricName, number[]>> = {
    ttft: spread(200, 80, 120).map((v) => v * scale),
    tpot: spread(200, 10, 14).map((v) => v * scale),
    latency: spread(200, 400, 600).map((v) => v * scale),
  }
  return dualRoundRun([roundResult({ label, ...recordedMetrics(samples) })])
}

describe('comparing a run with its baseline', () => {
  test('a run against itself: one check per metric and statistic (TTFT, TPOT, latency × p50, p90), ratio 1, none regressed', () => {
    const checks = compareWithBaseline(runAt(1), runAt(1))
    expect(checks.map((c) => `${c.label} ${c.metric} ${c.stat}`)).toEqual([
      'Concurrency4-Round1 ttft p50', 'Concurrency4-Round1 ttft p90',
      'Concurrency4-Round1 tpot p50', 'Concurrency4-Round1 tpot p90',
      'Concurrency4-Round1 latency p50', 'Concurrency4-Round1 latency p90',
    ])
    for (const c of checks) {
      expect(c.ratio).toBe(1)
      expect(c.low).toBeLessThanOrEqual(1)
      expect(c.high).toBeGreaterThanOrEqual(1)
      expect(c.regressed).toBe(false)
      expect(c.missing).toBeUndefined()
    }
  })

  test('twice as slow is a regression on every check, its interval wholly above 1 + tolerance', () => {
    const checks = compareWithBaseline(runAt(2), runAt(1))
    expect(checks).toHaveLength(6)
    for (const c of checks) {
      expect(c.ratio).toBeCloseTo(2, 1)
      expect(c.observed).toBeCloseTo(2 * c.baseline, 0)
      expect(c.low).toBeGreaterThan(1.1)
      expect(c.regressed).toBe(true)
    }
  })

  test('a slow-down within the tolerance passes; the same slow-down fails a tighter tolerance', () => {
    expect(compareWithBaseline(runAt(1.05), runAt(1)).some((c) => c.regressed)).toBe(false)
    expect(compareWithBaseline(runAt(1.3), runAt(1), { tolerance: 0.5 }).some((c) => c.regressed)).toBe(false)
    expect(compareWithBaseline(runAt(1.3), runAt(1)).every((c) => c.regressed)).toBe(true)
  })

  test('a faster run is never a regression', () => {
    expect(compareWithBaseline(runAt(0.5), runAt(1)).some((c) => c.regressed)).toBe(false)
  })

  test('a point ratio past the tolerance within the noise of five samples is not a regression', () => {
    const few = (ttft: number[]) => dualRoundRun([roundResult(recordedMetrics({ ttft }))])
    const [p50] = compareWithBaseline(few([100, 150, 200, 250, 400]), few([90, 120, 160, 200, 300]), { metrics: ['ttft'], stats: ['p50'] })
    expect(p50?.ratio).toBeGreaterThan(1.1)
    expect(p50?.low).toBeLessThan(1.1)
    expect(p50?.regressed).toBe(false)
  })

  test('the chosen metrics and statistics are the ones checked', () => {
    const checks = compareWithBaseline(runAt(2), runAt(1), { metrics: ['latency'], stats: ['avg', 'p99'] })
    expect(checks.map((c) => [c.metric, c.stat, c.regressed])).toEqual([['latency', 'avg', true], ['latency', 'p99', true]])
  })

  test('the same two runs always give the same verdict and intervals', () => {
    expect(compareWithBaseline(runAt(1.2), runAt(1))).toEqual(compareWithBaseline(runAt(1.2), runAt(1)))
  })

  test('a round or metric missing on either side is reported as missing, not as a pass or a regression', () => {
    const renamed = compareWithBaseline(runAt(2, 'Concurrency8-Round1'), runAt(1), { metrics: ['ttft'], stats: ['p50'] })
    expect(renamed).toEqual([expect.objectContaining({ label: 'Concurrency8-Round1', missing: 'round Concurrency8-Round1 is not in the baseline', regressed: false })])
    // The fixture round of the baseline has statistics but no histogram: nothing to resample.
    const noHistogram = dualRoundRun([roundResult({ metrics: { ...METRICS } })])
    expect(compareWithBaseline(runAt(2), noHistogram, { metrics: ['ttft'], stats: ['p50'] })[0]?.missing).toBe('Concurrency4-Round1 has no ttft samples')
    expect(compareWithBaseline(noHistogram, runAt(1), { metrics: ['tpot'], stats: ['p50'] })[0]?.missing).toBe('Concurrency4-Round1 has no tpot samples')
  })
})

describe('token metrics compare in tokens', () => {
  test('reasoning that grew from 10–19 to 10–100 tokens is a regression; the same is within noise', () => {
    const run = (to: number): ReturnType<typeof dualRoundRun> => dualRoundRun([roundResult({ label: 'Concurrency4-Round1', ...recordedMetrics({ reasoningTokens: spread(200, 10, to) }) })])
    const [grew] = compareWithBaseline(run(100), run(19), { metrics: ['reasoningTokens'], stats: ['p90'] })
    expect(grew).toMatchObject({ metric: 'reasoningTokens', stat: 'p90', regressed: true })
    expect(grew!.ratio).toBeGreaterThan(4)
    const [same] = compareWithBaseline(run(19), run(19), { metrics: ['reasoningTokens'], stats: ['p90'] })
    expect(same).toMatchObject({ ratio: 1, regressed: false })
  })
})
