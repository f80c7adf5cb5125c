import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'

const project = fileURLToPath(new URL('../../fixtures/vitest-project/', import.meta.url))
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url))
const out = mkdtempSync(join(tmpdir(), 'fluxperf-plugin-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

test('vitest bench with an unmeetable SLO exits non-zero with the term table; the reporter survives --reporter=verbose', () => {
  const r = spawnSync(process.execPath, [vitest, 'bench', '--run', '--reporter=verbose'], {
    cwd: project, encoding: 'utf8', env: { ...process.env, FLUXPERF_TEST_OUT: out, FLUXPERF_ENDPOINT: '', CI: '' }, timeout: 120_000,
  })
  const output = r.stdout + r.stderr
  expect(r.status).not.toBe(0)
  expect(output).toMatch(/ttft\s+p\(90\)[\s\S]*< 0\.001 ms\s+FAIL/)
  expect(output).toContain('fluxperf summary')
  const files = readdirSync(out)
  expect(files.some((f) => f.endsWith('.json'))).toBe(true)
  expect(files.some((f) => f.endsWith('.csv'))).toBe(true)
  const json = files.find((f) => f.endsWith('.json')) as string
  expect(existsSync(join(out, json))).toBe(true)
  expect(JSON.parse(readFileSync(join(out, json), 'utf8')).workload).toBe('dual-round')
})

test('--reporter=json: a failing matcher\'s message is plain text, without colour codes', () => {
  const report = join(out, 'vitest-report.json')
  const r = spawnSync(process.execPath, [vitest, 'bench', '--run', '--reporter=json', `--outputFile=${report}`], {
    cwd: project, encoding: 'utf8', env: { ...process.env, FLUXPERF_TEST_OUT: out, FLUXPERF_ENDPOINT: '', CI: '' }, timeout: 120_000,
  })
  expect(r.status, r.stdout + r.stderr).not.toBe(0)
  const json = JSON.parse(readFileSync(report, 'utf8')) as { testResults: { assertionResults: { failureMessages: string[] }[] }[] }
  const messages = json.testResults.flatMap((f) => f.assertionResults.flatMap((a) => a.failureMessages))
  expect(messages.join('\n')).toContain('expect(run).toMeetSlo(slo)')
  for (const message of messages) expect(message).not.toContain('\u001b[')
})
