// What the fluxperf reporter says after a real Vitest run (fixtures/vitest-notices-project): a passing
// toNotRegress that wrote its baseline says so (its message is never shown), under `vitest run` and
// `vitest bench`; a round in which every request failed shows n/a and why, never 0.00.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { freePort } from '../helpers/net.ts'

const project = fileURLToPath(new URL('../../fixtures/vitest-notices-project/', import.meta.url))
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'fluxperf-notices-'))
const baselines = join(dir, 'baselines')
let refusedPort = 0
beforeAll(async () => {
  refusedPort = await freePort()
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function vitestIn(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [vitest, ...args], {
    cwd: project, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, FLUXPERF_TEST_OUT: join(dir, 'results'), FLUXPERF_TEST_BASELINES: baselines, FLUXPERF_TEST_REFUSED_PORT: String(refusedPort), FLUXPERF_ENDPOINT: '', CI: '', FLUXPERF_UPDATE_BASELINE: '', NO_COLOR: '1', ...env },
  })
  return { status: r.status, output: r.stdout + r.stderr }
}

test('vitest run: a baseline written is announced; a round with no successful request shows n/a and the reason', () => {
  const first = vitestIn(['run'])
  expect(first.status, first.output).toBe(0)
  // Printed by the reporter, after its summary (not by the worker's console).
  expect(first.output).toMatch(new RegExp(`fluxperf summary[\\s\\S]*\\nreports: .*\\n(HTML report: .*\\n)?fluxperf: wrote baseline ${baselines}/run\\.json \\(no baseline yet; commit it\\)\\n`))
  expect(existsSync(join(baselines, 'run.json'))).toBe(true)
  // The refused server's rounds: n/a in every timing column, and why, instead of 0.00.
  const refused = first.output.split('\n').filter((l) => l.startsWith('a server that refuses every connection'))
  expect(refused).toHaveLength(2)
  for (const row of refused) {
    expect(row).toMatch(/Round\d\s+n\/a\s+n\/a\s+n\/a\s+3\s+pass\s+all 3 failed: connection refused \(cannot connect to http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions \(ECONNREFUSED\)\)$/)
    expect(row).not.toContain('0.00')
  }

  // Compared with the baseline it wrote: nothing to announce. Rewritten on request: announced as such.
  const again = vitestIn(['run', 'baseline.test.ts', '-t', 'writes its baseline'])
  expect(again.status, again.output).toBe(0)
  expect(again.output).not.toContain('fluxperf: wrote baseline')
  const rewrite = vitestIn(['run', 'baseline.test.ts', '-t', 'writes its baseline'], { FLUXPERF_UPDATE_BASELINE: '1' })
  expect(rewrite.status, rewrite.output).toBe(0)
  expect(rewrite.output).toContain(`fluxperf: rewrote baseline ${baselines}/run.json (FLUXPERF_UPDATE_BASELINE=1; commit it)`)
})

test('vitest bench: a baseline written is announced too', () => {
  const r = vitestIn(['bench', '--run'])
  expect(r.status, r.output).toBe(0)
  expect(r.output).toContain('fluxperf summary')
  expect(r.output).toContain(`fluxperf: wrote baseline ${baselines}/bench.json (no baseline yet; commit it)`)
})
