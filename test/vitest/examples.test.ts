import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url))
const out = mkdtempSync(join(tmpdir(), 'fluxperf-examples-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

test('the single-request example asks the server for its model instead of naming one (a strict server would 404)', () => {
  const r = spawnSync(process.execPath, [vitest, 'bench', '--run', '--config', 'fixtures/vitest-strict-model/vitest.config.ts'], {
    cwd: root, encoding: 'utf8', env: { ...process.env, FLUXPERF_TEST_OUT: out, FLUXPERF_ENDPOINT: '', CI: '' }, timeout: 120_000,
  })
  const output = r.stdout + r.stderr
  expect(output).toContain('single-request.bench.ts')
  expect(output).not.toContain('does not exist')
  expect(r.status, output).toBe(0)
})
