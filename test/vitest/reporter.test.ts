// The fluxperf reporter's end-of-run summary, fed by hand (test/vitest/notices.test.ts runs it in a real Vitest run).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
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

function testCase(fullName: string, fluxperf: FluxperfTaskMeta, state = 'passed', errors: { message: string }[] = []): TestCase {
  return { fullName, meta: () => ({ fluxperf }), result: () => ({ state, errors }) } as unknown as TestCase
}

/** What the reporter prints for these test cases (no Vitest instance: it writes to stdout; no HTML report). */
async function summaryOf(...cases: TestCase[]): Promise<string> {
  let out = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true))
  // The job summary of a CI machine running these tests is not theirs to write.
  vi.stubEnv('GITHUB_STEP_SUMMARY', '')
  const reporter = new FluxperfReporter({ outputDir: dir, report: false })
  reporter.onTestRunStart()
  for (const c of cases) reporter.onTestCaseResult(c)
  await reporter.onTestRunEnd()
  vi.restoreAllMocks()
  vi.unstubAllEnvs()
  return out
}

const empty = { metrics: { ttft: noSamples(), tpot: noSamples(), latency: noSamples() }, throughput: { requestsPerS: 0, outputTokensPerS: 0, inputTokensPerS: 0 }, durationS: 0 }

test('a round with no successful request shows n/a in the timing columns and why, never 0.00', async () => {
  const allFailed = roundResult({ ...empty, round: 1, total: 12, succeeded: 0, failed: 12, errors: [{ kind: 'connection_refused', count: 12, firstMessage: 'cannot connect to http://h:1/v1/chat/completions (ECONNREFUSED)' }] })
  const mixed = roundResult({ ...empty, round: 2, total: 12, succeeded: 0, failed: 12, errors: [{ kind: 'timeout', count: 2, firstMessage: 'no answer within 30 s' }, { kind: 'http_error', count: 10, firstMessage: 'HTTP 503\n\u001b[31mbusy' }] })
  const text = await summaryOf(testCase('down', { runs: [dualRoundRun([allFailed, mixed])] }, 'failed'))
  const row = (label: string): string => text.split('\n').find((l) => l.includes(label)) ?? ''
  expect(text).toMatch(/verdict\s+notes\n/)
  expect(row('Round1')).toMatch(/Concurrency4-Round1\s+n\/a\s+n\/a\s+n\/a\s+12\s+FAILED\s+all 12 failed: connection refused \(cannot connect to http:\/\/h:1\/v1\/chat\/completions \(ECONNREFUSED\)\)$/)
  // The most common kind first, with its first message (control characters made harmless), then the others.
  expect(row('Round2')).toMatch(/n\/a\s+n\/a\s+n\/a\s+12\s+FAILED\s+all 12 failed: http error ×10 \(HTTP 503 \?\[31mbusy\); timeout ×2$/)
  expect(text).not.toContain('0.00')
})

test('a round with no requests at all says so; rounds with successes keep their numbers and need no notes column', async () => {
  const none = roundResult({ ...empty, total: 0, succeeded: 0, failed: 0, errors: [] })
  expect(await summaryOf(testCase('interrupted', { runs: [dualRoundRun([none])] }))).toMatch(/n\/a\s+n\/a\s+n\/a\s+0\s+pass\s+no requests were sent$/m)
  const fine = await summaryOf(testCase('fine', { runs: [dualRoundRun()] }))
  expect(fine).toMatch(/Concurrency4-Round1\s+118\.00\s+12\.30\s+3\.60\s+1\s+pass\n/)
  expect(fine).not.toContain('notes')
})

test('notices of passing matchers are printed after the summary, even for a test without runs', async () => {
  const text = await summaryOf(
    testCase('writes', { runs: [dualRoundRun()], notices: ['fluxperf: wrote baseline baselines/a.json (no baseline yet; commit it)'] }),
    testCase('saved run', { runs: [], notices: ['fluxperf: wrote baseline baselines/b.json (no baseline yet; commit it)'] }),
  )
  expect(text).toMatch(/reports: .*\nfluxperf: wrote baseline baselines\/a\.json \(no baseline yet; commit it\)\nfluxperf: wrote baseline baselines\/b\.json/)
  expect(await summaryOf(testCase('only a notice', { runs: [], notices: ['fluxperf: wrote baseline c.json (no baseline yet; commit it)'] }))).toBe('\nfluxperf: wrote baseline c.json (no baseline yet; commit it)\n\n')
})

test('with GITHUB_STEP_SUMMARY set, the job summary gets every test\'s verdict and statistics, quoting a failed toNotRegress', async () => {
  const file = join(dir, 'summary.md')
  const regression = '3 of 6 comparisons regressed beyond 10% (bootstrap 95% interval of observed/baseline wholly above 1.10):\n\nround  metric  stat  baseline  observed\nBaseline: baselines/chat.json'
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  vi.stubEnv('GITHUB_STEP_SUMMARY', file)
  try {
    const reporter = new FluxperfReporter({ outputDir: dir, report: false })
    reporter.onTestRunStart()
    reporter.onTestCaseResult(testCase('chat is as fast as before', { runs: [dualRoundRun()] }, 'failed', [{ message: `expect(run).toNotRegress('baselines/chat.json')\n\n${regression}` }]))
    reporter.onTestCaseResult(testCase('cache halves TTFT', { runs: [dualRoundRun()] }))
    await reporter.onTestRunEnd()
  } finally {
    vi.restoreAllMocks()
    vi.unstubAllEnvs()
  }
  const md = readFileSync(file, 'utf8')
  expect(md).toMatch(/^## fluxperf \(Vitest\)\n/)
  expect(md).toContain('### ❌ chat is as fast as before: FAILED')
  expect(md).toContain('### ✅ cache halves TTFT: PASSED')
  expect(md).toMatch(/\| Concurrency4-Round1 \| \d+ \| \d+ \| 118\.0 \|/)
  expect(md).toContain(`\`\`\`\nexpect(run).toNotRegress('baselines/chat.json')\n\n3 of 6 comparisons regressed beyond 10%`)
})
