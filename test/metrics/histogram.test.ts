import { describe, expect, test } from 'vitest'
import { MetricRecorder } from '../../src/metrics/index.ts'
import { overallSummary } from '../../src/report/multiTurn.ts'
import { dualRun, records } from '../helpers/runs.ts'

// HDR (3 significant digits) answers a percentile with its bucket's highest equivalent value:
// 123.456 ms is stored as 123456 µs and comes back as 123519 µs, above the largest sample.
describe('percentiles never leave [min, max]', () => {
  test('a recorder of one sample: every percentile is that sample', () => {
    const r = new MetricRecorder()
    r.record(123.456)
    const s = r.summary()
    expect(s.max).toBe(123.456)
    for (const p of [s.p50, s.p90, s.p95, s.p99]) expect(p).toBe(123.456)
    expect(r.percentile(99.9)).toBe(123.456)
  })

  test('many samples: p99 ≤ max and p50 ≥ min', () => {
    const r = new MetricRecorder()
    for (const v of [5000.001, 4000.5, 123.456, 2049]) r.record(v)
    const s = r.summary()
    expect(s.p99).toBeLessThanOrEqual(s.max)
    expect(s.p50).toBeGreaterThanOrEqual(s.min)
  })

  test('the multi-turn overall summary (merged histograms) keeps P99 within Max, with an exact mean', () => {
    const run = dualRun(records(3, [123.456]), records(2, [5000.001]))
    const s = overallSummary(run, 'ttft')
    expect(s.count).toBe(5)
    expect(s.max).toBe(5000.001)
    expect(s.p99).toBeLessThanOrEqual(s.max)
    expect(s.p50).toBeGreaterThanOrEqual(s.min)
    expect(s.avg).toBeCloseTo((3 * 123.456 + 2 * 5000.001) / 5, 6)
  })
})
