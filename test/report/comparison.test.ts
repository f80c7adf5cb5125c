import { describe, expect, test } from 'vitest'
import type { RunComparison } from '../../src/baseline/index.ts'
import { comparisonCounts, formatComparison } from '../../src/report/index.ts'

const comparison: RunComparison = {
  tolerance: 0.1,
  configDifferences: [],
  rows: [
    { round: 'Concurrency2-Round1', metric: 'ttft', stat: 'p50', base: 24.98, new: 25.1, change: 0.0048, low: 0.91, high: 1.12, verdict: 'within noise' },
    { round: 'Concurrency2-Round1', metric: 'tpot', stat: 'p50', base: 8.46, new: 16.46, change: 0.9456, low: 1.942, high: 1.962, verdict: 'regressed' },
    { round: 'Concurrency2-Round1', metric: 'latency', stat: 'p90', base: 400, new: 200, change: -0.5, low: 0.48, high: 0.52, verdict: 'improved' },
    { round: 'Concurrency4-Round1', metric: 'ttft', stat: 'p50', base: null, new: 30, change: null, low: null, high: null, verdict: 'missing', note: 'round Concurrency4-Round1 is not in the base run' },
  ],
}
const runs = { base: 'results/before', new: 'results/after' }

describe('formatComparison', () => {
  test('table: aligned columns (numbers right-aligned), n/a where a side is missing, and the counts', () => {
    const text = formatComparison(comparison, runs, 'table')
    const lines = text.split('\n')
    expect(lines.slice(0, 2)).toEqual(['base: results/before', 'new:  results/after'])
    const head = lines.find((l) => l.startsWith('round'))!
    const body = lines.filter((l) => l.startsWith('Concurrency'))
    expect(body).toHaveLength(4)
    // Every column starts where its heading does.
    for (const heading of ['metric', 'stat', 'interval (new/base)', 'verdict']) for (const line of body) expect(line[head.indexOf(heading) - 1]).toBe(' ')
    expect(body[1]).toMatch(/tpot\s+p50\s+8\.46\s+16\.46\s+\+94\.6%\s+\[1\.942, 1\.962\]\s+regressed$/)
    expect(body[2]).toMatch(/-50\.0%\s+\[0\.480, 0\.520\]\s+improved$/)
    expect(body[3]).toMatch(/n\/a\s+30\.00\s+n\/a\s+n\/a\s+missing: round Concurrency4-Round1 is not in the base run$/)
    // Right-aligned: the ends of the numbers line up.
    expect(body.map((l) => l.indexOf('%') )).toEqual([body[0]!.indexOf('%'), body[0]!.indexOf('%'), body[0]!.indexOf('%'), -1])
    expect(text).toContain('1 regressed, 1 improved, 1 within noise, 1 missing (of 4; tolerance 10%)')
    expect(text).not.toContain('WARNING')
  })

  test('markdown: a GitHub table, regressions in bold, pipes escaped', () => {
    const md = formatComparison({ ...comparison, rows: [...comparison.rows, { ...comparison.rows[0]!, round: 'a|b' }] }, runs, 'markdown')
    expect(md).toContain('### fluxperf compare: `results/after` against `results/before`')
    expect(md).toContain('| round | metric | stat | base | new | change | interval (new/base) | verdict |\n| --- | --- | --- | ---: | ---: | ---: | ---: | --- |')
    expect(md).toContain('| Concurrency2-Round1 | tpot | p50 | 8.46 | 16.46 | +94.6% | [1.942, 1.962] | **regressed** |')
    expect(md).toContain('| a\\|b | ttft |')
  })

  test('json: the rows as compareRuns returns them, with both names', () => {
    const parsed = JSON.parse(formatComparison(comparison, runs, 'json'))
    expect(parsed).toEqual({ base: 'results/before', new: 'results/after', ...comparison })
  })

  test('settings that differ are flagged first, in every format', () => {
    const differ = { ...comparison, configDifferences: ['maxOutputTokens 8 → 64', 'dataset a.jsonl → b.jsonl'] }
    expect(formatComparison(differ, runs, 'table')).toContain('WARNING: The runs differ in configuration: maxOutputTokens 8 → 64; dataset a.jsonl → b.jsonl')
    expect(formatComparison(differ, runs, 'markdown')).toContain('> **Warning**: The runs differ in configuration: maxOutputTokens 8 → 64; dataset a.jsonl → b.jsonl')
    expect(JSON.parse(formatComparison(differ, runs, 'json')).configDifferences).toEqual(['maxOutputTokens 8 → 64', 'dataset a.jsonl → b.jsonl'])
  })

  test('counts leave out "missing" when nothing is', () => {
    expect(comparisonCounts({ ...comparison, rows: comparison.rows.slice(0, 3), tolerance: 0.05 })).toBe('1 regressed, 1 improved, 1 within noise (of 3; tolerance 5%)')
  })
})
