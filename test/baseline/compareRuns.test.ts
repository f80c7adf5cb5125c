import { describe, expect, test } from 'vitest'
import { compareRuns } from '../../src/baseline/index.ts'
import type { MetricName, RunResult } from '../../src/types.ts'
import { dualRoundRun, recordedMetrics, roundResult } from '../report/fixtures.ts'

/** `n` evenly spread values from `from` to `to`. */
function spread(n: number, from: number, to: number): number[] {
  return Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1))
}

/** A run of one round per label, 200 requests each, TTFT/TPOT/latency those of the reference run times `scale`. */
function runAt(scale: number | Partial<Record<MetricName, number>>, labels = ['Concurrency4-Round1'], config: Record<string, unknown> = {}): RunResult {
  const factor = (m: MetricName): number => (typeof scale === 'number' ? scale : scale[m] ?? 1)
  const rounds = labels.map((label) => roundResult({
    label,
    ...recordedMetrics({
      ttft: spread(200, 80, 120).map((v) => v * factor('ttft')),
      tpot: spread(200, 10, 14).map((v) => v * factor('tpot')),
      latency: spread(200, 400, 600).map((v) => v * factor('latency')),
    }),
  }))
  return dualRoundRun(rounds, { config } as never)
}

const verdicts = (base: RunResult, next: RunResult, options = {}): string[] =>
  compareRuns(base, next, options).rows.map((r) => `${r.round} ${r.metric} ${r.stat}: ${r.verdict}`)

describe('compareRuns: two runs, statistic by statistic', () => {
  test('a run against itself: one row per round, metric and statistic, change 0, within noise', () => {
    const result = compareRuns(runAt(1), runAt(1))
    expect(result.tolerance).toBe(0.1)
    expect(result.configDifferences).toEqual([])
    expect(result.rows).toHaveLength(6)
    for (const row of result.rows) {
      expect(row).toMatchObject({ round: 'Concurrency4-Round1', change: 0, verdict: 'within noise' })
      expect(row.base).toBe(row.new)
      expect(row.low).toBeLessThanOrEqual(1)
      expect(row.high).toBeGreaterThanOrEqual(1)
      expect(row.note).toBeUndefined()
    }
  })

  test('slower beyond the tolerance: regressed, with change = new/base − 1 and the interval above 1 + tolerance', () => {
    const result = compareRuns(runAt(1), runAt(1.5))
    for (const row of result.rows) {
      expect(row.verdict).toBe('regressed')
      expect(row.change).toBeCloseTo(0.5, 1)
      expect(row.new! / row.base! - 1).toBeCloseTo(row.change!, 10)
      expect(row.low).toBeGreaterThan(1.1)
    }
  })

  test('faster beyond the tolerance: improved (the interval wholly below 1 / (1 + tolerance)); the same two runs swapped regress', () => {
    expect(verdicts(runAt(1.5), runAt(1)).every((v) => v.endsWith('improved'))).toBe(true)
    expect(verdicts(runAt(1), runAt(1.5)).every((v) => v.endsWith('regressed'))).toBe(true)
  })

  test('the threshold is the same factor both ways: 5 % either way is within noise at 10 %, and a change only some metrics show is judged per metric', () => {
    expect(verdicts(runAt(1), runAt(1.05)).every((v) => v.endsWith('within noise'))).toBe(true)
    expect(verdicts(runAt(1), runAt(0.95)).every((v) => v.endsWith('within noise'))).toBe(true)
    expect(verdicts(runAt(1), runAt({ tpot: 2, ttft: 0.5 }))).toEqual([
      'Concurrency4-Round1 ttft p50: improved', 'Concurrency4-Round1 ttft p90: improved',
      'Concurrency4-Round1 tpot p50: regressed', 'Concurrency4-Round1 tpot p90: regressed',
      'Concurrency4-Round1 latency p50: within noise', 'Concurrency4-Round1 latency p90: within noise',
    ])
    // A wider tolerance absorbs the same change.
    expect(verdicts(runAt(1), runAt(1.3), { tolerance: 0.5 }).every((v) => v.endsWith('within noise'))).toBe(true)
  })

  test('a big point change that five samples cannot tell from noise is within noise', () => {
    const few = (ttft: number[]): RunResult => dualRoundRun([roundResult(recordedMetrics({ ttft }))])
    const [row] = compareRuns(few([90, 120, 160, 200, 300]), few([100, 150, 200, 250, 400]), { metrics: ['ttft'], stats: ['p50'] }).rows
    expect(row!.change).toBeGreaterThan(0.1)
    expect(row!.verdict).toBe('within noise')
  })

  test('a round on one side only is missing, with the side that has it shown and why', () => {
    const base = runAt(1, ['Concurrency2-Round1', 'Concurrency4-Round1'])
    const next = runAt(1, ['Concurrency4-Round1', 'Concurrency8-Round1'])
    const rows = compareRuns(base, next, { metrics: ['ttft'], stats: ['p50'] }).rows
    expect(rows.map((r) => [r.round, r.verdict, r.note])).toEqual([
      ['Concurrency4-Round1', 'within noise', undefined],
      ['Concurrency8-Round1', 'missing', 'round Concurrency8-Round1 is not in the base run'],
      ['Concurrency2-Round1', 'missing', 'round Concurrency2-Round1 is not in the new run'],
    ])
    expect(rows[1]).toMatchObject({ base: null, change: null, low: null, high: null })
    expect(rows[1]!.new).toBeGreaterThan(0)
    expect(rows[2]).toMatchObject({ new: null, change: null })
    expect(rows[2]!.base).toBeGreaterThan(0)
  })

  test('a metric with no samples on one side is missing', () => {
    const [row] = compareRuns(runAt(1), runAt(1), { metrics: ['itl'], stats: ['p90'] }).rows
    expect(row).toMatchObject({ metric: 'itl', verdict: 'missing', note: 'Concurrency4-Round1 has no itl samples', base: null, new: null })
  })

  test('settings that differ are listed one per entry, formatted as toNotRegress names them; the rows are still computed', () => {
    const result = compareRuns(runAt(1, undefined, { maxOutputTokens: 8, dataset: 'a.jsonl' }), runAt(1, undefined, { maxOutputTokens: 64, dataset: './a.jsonl', concurrency: [2, 4] }))
    expect(result.configDifferences).toEqual(['maxOutputTokens 8 → 64', 'concurrency [1] → [2, 4]'])
    expect(result.rows).toHaveLength(6)
  })

  test('seeded: the same two runs always give the same rows', () => {
    expect(compareRuns(runAt(1), runAt(1.08))).toEqual(compareRuns(runAt(1), runAt(1.08)))
  })
})
