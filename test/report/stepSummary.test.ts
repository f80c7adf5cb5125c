import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test, vi } from 'vitest'
import { appendStepSummary, stepSummaryMarkdown } from '../../src/report/index.ts'
import { dualRun, records } from '../helpers/runs.ts'
import { runMain } from '../cli/inProcess.ts'

const tmp = mkdtempSync(join(tmpdir(), 'fluxperf-summary-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('stepSummaryMarkdown', () => {
  const run = { ...dualRun(records(10, [100, 300]), records(10, [20, 30])), slo: { ttft: ['p(90) < 200'] } }

  test('the verdict, a row per round and the SLO checks missed', () => {
    const md = stepSummaryMarkdown('fluxperf run', [{ name: 'results/x', run, verdict: 'FAILED: an SLO check missed', failures: ['expect(run).toMeetSlo(slo)\n\n1 of 2 SLO checks failed'] }])
    expect(md).toContain('### ❌ results/x: FAILED: an SLO check missed')
    expect(md).toMatch(/\| Concurrency4-Round1 \| 10 \| 0 \| [\d.]+ \| 300\.0 \|/)
    expect(md).toContain('| Concurrency4-Round1 | ttft | p(90) | 300.00 | < 200 |')
    expect(md).not.toContain('| Concurrency4-Round2 | ttft |')
    expect(md).toContain('```\nexpect(run).toMeetSlo(slo)')
  })

  test('a round with no successful request shows n/a, never 0', () => {
    const failed = records(3, [100], { ok: false, ttftMs: null, error: { kind: 'timeout', message: 't' } })
    const md = stepSummaryMarkdown('t', [{ name: 'x', run: dualRun(failed, failed), verdict: 'FAILED' }])
    expect(md).toMatch(/\| Concurrency4-Round1 \| 3 \| 3 \| n\/a \| n\/a \| n\/a \| n\/a \| n\/a \|/)
  })
})

describe('appendStepSummary', () => {
  test('appends to the file GITHUB_STEP_SUMMARY names, and only then', () => {
    const file = join(tmp, 'summary.md')
    expect(appendStepSummary('one\n', {})).toBe(false)
    expect(appendStepSummary('one\n', { GITHUB_STEP_SUMMARY: file })).toBe(true)
    expect(appendStepSummary('two\n', { GITHUB_STEP_SUMMARY: file })).toBe(true)
    expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n')
  })

  test('a file that cannot be written is a warning, not an error', () => {
    const warnings: string[] = []
    expect(appendStepSummary('x', { GITHUB_STEP_SUMMARY: join(tmp, 'no', 'such', 'dir', 'f.md') }, (m) => warnings.push(m))).toBe(false)
    expect(warnings[0]).toMatch(/could not append the job summary to GITHUB_STEP_SUMMARY=/)
  })

  test('fluxperf run appends its summary when GITHUB_STEP_SUMMARY is set', async () => {
    const file = join(tmp, 'run-summary.md')
    vi.stubEnv('GITHUB_STEP_SUMMARY', file)
    try {
      const r = await runMain(['run', '--mock-server', '--dataset', 'fluxperf:example', '--seed', '4', '--concurrency', '2', '--num-samples', '2', '--max-output-tokens', '4', '--no-progress', '--no-report', '--output-dir', join(tmp, 'run')])
      expect(r.code, r.stderr).toBe(0)
    } finally {
      vi.unstubAllEnvs()
    }
    const md = readFileSync(file, 'utf8')
    expect(md).toContain('## fluxperf run')
    // The verdict line of the terminal, without where the reports are (the heading names the directory).
    expect(md).toMatch(new RegExp(`### ✅ ${join(tmp, 'run')}: PASSED: (\\d+)/\\1 requests succeeded\n`))
    expect(md).toContain('| Concurrency2-Round2 |')
  })

  test('a run that missed its SLO appends why: the verdict line and the checks missed', async () => {
    const file = join(tmp, 'slo-summary.md')
    const slo = join(tmp, 'strict.yaml')
    writeFileSync(slo, 'slo:\n  ttft: ["p(90) < 0.001"]\n')
    vi.stubEnv('GITHUB_STEP_SUMMARY', file)
    try {
      const r = await runMain(['run', '--mock-server', '--dataset', 'fluxperf:example', '--seed', '4', '--concurrency', '2', '--num-samples', '2', '--max-output-tokens', '4', '--no-progress', '--no-report', '--slo-file', slo, '--output-dir', join(tmp, 'slo')])
      expect(r.code, r.stderr).toBe(99)
    } finally {
      vi.unstubAllEnvs()
    }
    const md = readFileSync(file, 'utf8')
    expect(md).toMatch(/### ❌ .*slo: SLO MISSED: 2 of 2 checks failed\n/)
    expect(md).toMatch(/\| Concurrency2-Round1 \| ttft \| p\(90\) \| [\d.]+ \| < 0\.001 \|/)
  })

  test('a summary file that cannot be written costs fluxperf run one warning, not its verdict', async () => {
    vi.stubEnv('GITHUB_STEP_SUMMARY', join(tmp, 'missing-dir', 'summary.md'))
    try {
      const r = await runMain(['run', '--mock-server', '--dataset', 'fluxperf:example', '--seed', '4', '--concurrency', '1', '--num-samples', '1', '--max-output-tokens', '4', '--no-progress', '--no-report', '--output-dir', join(tmp, 'nowrite')])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr.split('\n').filter((l) => l.includes('GITHUB_STEP_SUMMARY'))).toHaveLength(1)
    } finally {
      vi.unstubAllEnvs()
    }
  })
})
