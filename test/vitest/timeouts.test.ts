import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'

const project = fileURLToPath(new URL('../../fixtures/vitest-timeouts/', import.meta.url))
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url))

function timeouts(env: Record<string, string> = {}): { workload: number; plain: number } {
  const r = spawnSync(process.execPath, [vitest, 'run', '--reporter=verbose'], {
    cwd: project, encoding: 'utf8', env: { ...process.env, FLUXPERF_ENDPOINT: '', CI: '', ...env }, timeout: 120_000,
  })
  const output = r.stdout + r.stderr
  expect(r.status, output).toBe(0)
  const of = (label: string): number => Number(new RegExp(`timeout of the ${label} file: (\\d+)`).exec(output)?.[1])
  return { workload: of('workload'), plain: of('plain') }
}

test('files that import from fluxperf get the workload timeout; other files keep Vitest\'s 5 s', () => {
  expect(timeouts()).toEqual({ workload: 600_000, plain: 5_000 })
})

test('a testTimeout the user configured wins everywhere', () => {
  expect(timeouts({ FLUXPERF_TEST_TIMEOUT: '7000' })).toEqual({ workload: 7_000, plain: 7_000 })
})
