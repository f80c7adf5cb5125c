// The Vitest reporter in CI: the job summary (GITHUB_STEP_SUMMARY) quotes the failed matcher, and the HTML
// report of the bench run is written and named.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'

const project = fileURLToPath(new URL('../../fixtures/vitest-project/', import.meta.url))
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url))
const out = mkdtempSync(join(tmpdir(), 'fluxperf-ci-summary-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

test('vitest bench with GITHUB_STEP_SUMMARY: the summary names the failed test and quotes its SLO table; report.html is written', () => {
  const summary = join(out, 'summary.md')
  const r = spawnSync(process.execPath, [vitest, 'bench', '--run'], {
    cwd: project, encoding: 'utf8', env: { ...process.env, FLUXPERF_TEST_OUT: out, FLUXPERF_ENDPOINT: '', CI: '', GITHUB_STEP_SUMMARY: summary }, timeout: 120_000,
  })
  const output = r.stdout + r.stderr
  expect(r.status, output).not.toBe(0)
  const md = readFileSync(summary, 'utf8')
  expect(md).toContain('## fluxperf (Vitest)')
  expect(md).toContain('### ❌ an SLO no server can meet: FAILED')
  expect(md).toMatch(/```\nexpect\(run\)\.toMeetSlo\(slo\)/)
  expect(md).toMatch(/ttft\s+p\(90\)[\s\S]*< 0\.001 ms\s+FAIL/)
  expect(output).toContain(`HTML report: ${join(out, 'report.html')}`)
  expect(existsSync(join(out, 'report.html'))).toBe(true)
  expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('an SLO no server can meet')
})
