// The fluxperf reporter's end-of-run summary, fed by hand (test/vitest/notices.test.ts runs it in a real Vitest run).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect, test, vi } from 'vitest'
import type { TestCase } from 'vitest/node'
import type { FluxperfTaskMeta } from '../../src/vitest/augment.ts'
import { FluxperfReporter } from '../../src/vitest/reporter.ts'
import { dualRoundRun, noSamples, roundResult } from '../report/fixtures.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-reporter-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => vi.restoreAllMocks())

function testCase(fullName: string, fluxperf: FluxperfTaskMeta, state = 'passed'): TestCase {
  return { fullName, meta: () => ({ fluxperf }), result: () => ({ state }) } as unknown as TestCase
}

/** What the reporter prints for these test cases (no Vitest instance: it writes to stdout). */
function summaryOf(...cases: TestCase[]): string {
  let out = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true))
  const reporter = new FluxperfReporter({ outputDir: dir })
  reporter.onTestRunStart()
  for (const c of cases) reporter.onTestCaseResult(c)
  reporter.onTestRunEnd()
  vi.restoreAllMocks()
  return out
}

const empty = { metrics: { ttft: noSamples(), tpot: noSamples(), latency: noSamples() }, throughput: { requestsPerS: 0, outputTokensPerS: 0, inputTokensPerS: 0 }, durationS: 0 }

test('a round with no successful request shows n/a in the timing columns and why, never 0.00', () => {
  const allFailed = roundResult({ ...empty, round: 1, total: 12, succeeded: 0, failed: 12, errors: [{ kind: 'connection_refused', count: 12, firstMessage: 'cannot connect to http://h:1/v1/chat/completions (ECONNREFUSED)' }] })
  const mixed = roundResult({ ...empty, round: 2, total: 12, succeeded: 0, failed: 12, errors: [{ kind: 'timeout', count: 2, firstMessage: 'no answer within 30 s' }, { kind: 'http_error', count: 10, firstMessage: 'HTTP 503\n\u001b[31mbusy' }] })
  const text = summaryOf(testCase('down', { runs: [dualRoundRun([allFailed, mixed])] }, 'failed'))
  const row = (label: string): string => text.split('\n').find((l) => l.includes(label)) ?? ''
  expect(text).toMatch(/verdict\s+notes\n/)
  expect(row('Round1')).toMatch(/Concurrency4-Round1\s+n\/a\s+n\/a\s+n\/a\s+12\s+FAILED\s+all 12 failed: connection refused \(cannot connect to http:\/\/h:1\/v1\/chat\/completions \(ECONNREFUSED\)\)$/)
  // The most common kind first, with its first message (control characters made harmless), then the others.
  expect(row('Round2')).toMatch(/n\/a\s+n\/a\s+n\/a\s+12\s+FAILED\s+all 12 failed: http error ×10 \(HTTP 503 \?\[31mbusy\); timeout ×2$/)
  expect(text).not.toContain('0.00')
})

test('a round with no requests at all says so; rounds with successes keep their numbers and need no notes column', () => {
  const none = roundResult({ ...empty, total: 0, succeeded: 0, failed: 0, errors: [] })
  expect(summaryOf(testCase('interrupted', { runs: [dualRoundRun([none])] }))).toMatch(/n\/a\s+n\/a\s+n\/a\s+0\s+pass\s+no requests were sent$/m)
  const fine = summaryOf(testCase('fine', { runs: [dualRoundRun()] }))
  expect(fine).toMatch(/Concurrency4-Round1\s+118\.00\s+12\.30\s+3\.60\s+1\s+pass\n/)
  expect(fine).not.toContain('notes')
})

test('notices of passing matchers are printed after the summary, even for a test without runs', () => {
  const text = summaryOf(
    testCase('writes', { runs: [dualRoundRun()], notices: ['fluxperf: wrote baseline baselines/a.json (no baseline yet; commit it)'] }),
    testCase('saved run', { runs: [], notices: ['fluxperf: wrote baseline baselines/b.json (no baseline yet; commit it)'] }),
  )
  expect(text).toMatch(/reports: .*\nfluxperf: wrote baseline baselines\/a\.json \(no baseline yet; commit it\)\nfluxperf: wrote baseline baselines\/b\.json/)
  expect(summaryOf(testCase('only a notice', { runs: [], notices: ['fluxperf: wrote baseline c.json (no baseline yet; commit it)'] }))).toBe('\nfluxperf: wrote baseline c.json (no baseline yet; commit it)\n\n')
})
