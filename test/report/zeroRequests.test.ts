import { describe, expect, test } from 'vitest'
import { formatMultiTurnSummary, formatRound, formatSpeedups, qaSummaryText } from '../../src/report/index.ts'
import { formatRecipeSummary, recipeSummaryCsv } from '../../src/config/index.ts'
import { metricsSummaryCsv } from '../../src/report/index.ts'
import { emptySummary } from '../../src/metrics/index.ts'
import type { RunResult, MultiTurnResult } from '../../src/types.ts'
import { dualRun, records } from '../helpers/runs.ts'

const failed = records(4, [0], { ok: false, ttftMs: null, error: { kind: 'timeout', message: 'timed out' } })

describe('statistics of zero requests read n/a with the reason, never 0.00', () => {
  test('a round whose requests all failed: its metric rows and token averages', () => {
    const run = dualRun(records(4, [400]), failed)
    const text = formatRound(run.rounds[1] as RunResult['rounds'][number])
    expect(text).toMatch(/│ TTFT \(ms\)\s+│ n\/a \(no successful requests \(4 failed\)\)/)
    expect(text).toContain('Average Input Tokens: n/a (no successful requests (4 failed))')
    expect(text).not.toMatch(/TTFT \(ms\)\s+│ 0\.00/)
  })

  test('a metric with no samples in a successful round names what it needs', () => {
    const oneToken = records(2, [100], { tpotMs: null, outputTokens: 1, chunkOffsetsMs: [100] })
    const text = formatRound(dualRun(oneToken, oneToken).rounds[0] as RunResult['rounds'][number])
    expect(text).toMatch(/TPOT \(ms\) \[seed "ITL"\]\s+│ n\/a \(no request had 2\+ output tokens\)/)
  })

  test('a speedup over a round with no successes is n/a, never 0.00x', () => {
    const run = dualRun(records(4, [400]), failed)
    expect(run.speedups.map((s) => s.ratio)).toEqual([null, null])
    const text = formatSpeedups(run)
    expect(text).toContain('TTFT avg n/a (no successful requests (4 failed) in Concurrency4-Round2)')
    expect(text).not.toContain('0.00x')
  })

  test('multi-turn summary: the speedup ratio and a turn without successes', () => {
    const base = dualRun(failed, records(4, [100]))
    const run: MultiTurnResult = {
      ...base, workload: 'multi-turn',
      byTurn: [{ turn: 1, ttft: emptySummary(), latency: emptySummary() }],
      byDocumentType: [],
      conversations: { planned: 4, started: 4, completed: 0, endedByContextLimit: 0 },
    }
    const text = formatMultiTurnSummary(run)
    expect(text).toMatch(/Speedup ratio:\s+n\/a/)
    expect(text).toContain('First turn avg:   n/a (no successful requests (4 failed))')
    expect(text).toContain('Turn  1: n/a (no successful requests)')
    expect(text).not.toContain('0.00x')
  })

  test('the recipe summary table and the CSVs: n/a and empty cells, not zeros', () => {
    const run = dualRun(records(4, [400]), failed)
    const table = formatRecipeSummary('r.yaml', [{ name: 'a', outputDir: 'o', exitCode: 1, env: {}, run }])
    const row = table.split('\n').find((l) => l.includes('Concurrency4-Round2')) as string
    expect(row).toMatch(/0\/4\s+n\/a\s+n\/a\s+n\/a\s+n\/a\s+n\/a\s+0\.0\s+n\/a/)
    const csvRow = (csv: string, name: string): string | undefined => csv.split('\n').find((l) => l.startsWith(`${name},`))
    expect(csvRow(metricsSummaryCsv(run), 'Average')).toMatch(/^Average,\d+\.\d\d,$/)
    expect(csvRow(recipeSummaryCsv([{ name: 'a', outputDir: 'o', exitCode: 1, env: {}, run }]), 'P99')).toMatch(/^P99,\d+\.\d\d,$/)
  })

  test('multi-round QA summary with nothing finished', () => {
    const round = dualRun([], []).rounds[0] as RunResult['rounds'][number]
    const o = { targetRate: 1, achievedRate: 0, scheduled: 0, sent: 0, late: 0, dropped: 0, scheduleLag: emptySummary(), latencyFromScheduled: emptySummary(), ttftFromScheduled: emptySummary() }
    const text = qaSummaryText({ title: 't', elapsedS: 0, round, openLoop: o })
    expect(text).toContain('Time to First Token (TTFT): n/a (no requests)')
    expect(text).toContain('Schedule lag (actual - intended send): n/a (nothing sent)')
    expect(text).toContain('Benchmark duration: n/a (no requests finished)')
  })
})
