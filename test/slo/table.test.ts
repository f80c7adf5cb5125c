import { describe, expect, it } from 'vitest'
import { evaluateSlo, formatSloTable, parseSlo } from '../../src/slo/index.ts'
import { goodput, oneTo, round, run } from './fixtures.ts'

describe('formatSloTable', () => {
  it('one aligned line per check with units, margins and reasons', () => {
    const r = round({ total: 10, failed: 1, samples: { ttft: oneTo(100).map((v) => v * 10) }, goodput: goodput(9, 10) })
    const noGoodput = round({ concurrency: 8, samples: { ttft: [5] } })
    const checks = evaluateSlo(run([r, noGoodput]), parseSlo({ ttft: ['p(90) < 800', 'avg < 600'], errorRate: ['rate < 0.05'], throughput: ['value > 100'], goodput: ['rate > 0.5'] }, 'test'))
    const table = formatSloTable(checks)
    const lines = table.split('\n')
    expect(lines[0]).toMatch(/^round\s+metric\s+statistic\s+observed\s+limit\s+result$/)
    expect(lines[1]).toMatch(/^-+ +-+ +-+ +-+ +-+ +-+$/)
    expect(lines).toHaveLength(2 + 10)
    expect(lines[2]).toMatch(/^Concurrency4-Round1\s+ttft\s+p\(90\)\s+90\d\.\d ms\s+< 800 ms\s+FAIL \(\+10\d\.\d ms, \+1\d\.\d+%\)$/)
    expect(lines[3]).toMatch(/^Concurrency4-Round1\s+ttft\s+avg\s+505 ms\s+< 600 ms\s+pass$/)
    expect(lines[4]).toMatch(/errorRate\s+rate\s+0\.1 \(10%\)\s+< 0\.05 \(5%\)\s+FAIL \(\+0\.05, \+100%\)$/)
    expect(lines[5]).toMatch(/throughput\s+value\s+250 tok\/s\s+> 100 tok\/s\s+pass$/)
    expect(lines[6]).toMatch(/goodput\s+rate\s+0\.9 \(90%\)\s+> 0\.5 \(50%\)\s+pass$/)
    expect(lines[11]).toMatch(/^Concurrency8-Round1\s+goodput\s+rate\s+n\/a\s+> 0\.5 \(50%\)\s+FAIL \(run has no goodput \(no per-request SLO given\)\)$/)
    for (const line of lines) expect(line).toBe(line.trimEnd())
    const columns = lines.slice(2).map((l) => l.indexOf('  '))
    expect(new Set(columns).size).toBe(1)
  })

  it('names the seed key of a per-request limit', () => {
    const checks = evaluateSlo(run([round({ samples: { tpot: [10, 20] } })]), parseSlo({ slo: { itl_ms: 15 } }, 't'))
    expect(formatSloTable(checks).split('\n')[2]).toMatch(/tpot \(itl_ms\)\s+max\s+20 ms\s+< 15 ms\s+FAIL \(\+5 ms, \+33\.33%\)$/)
  })

  it('says so when there are no checks', () => {
    expect(formatSloTable([])).toBe('(no SLO checks)')
  })

  it('counts have no unit', () => {
    const checks = evaluateSlo(run([round({ samples: { ttft: [1, 2] } })]), parseSlo({ ttft: ['count >= 2'] }, 't'))
    expect(formatSloTable(checks).split('\n')[2]).toMatch(/count\s+2\s+>= 2\s+pass$/)
  })
})
