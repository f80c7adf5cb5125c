// The README's "A CI matrix of shards", run as written: two Vitest processes are two matrix jobs running one shard
// each of the same bench file at a common FLUXPERF_START_AT; `fluxperf merge` joins the reporter's files; a last
// Vitest process asserts on the merged run with loadRun + toMeetSlo. The union must be the unsharded run.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { loadRun } from '../../src/merge/index.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import type { TrafficResult } from '../../src/types.ts'
import { runCli } from '../helpers/cli.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url))
const config = 'fixtures/vitest-shards/vitest.config.ts'
const out = mkdtempSync(join(tmpdir(), 'fluxperf-matrix-'))
let mock: MockServer
beforeAll(async () => {
  mock = await startMockServer({ jitter: 0 })
})
afterAll(async () => {
  await mock.close()
  rmSync(out, { recursive: true, force: true })
})

function vitestJob(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vitest, ...args, '--config', config], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FLUXPERF_ENDPOINT: mock.url, FLUXPERF_SHARD: '', FLUXPERF_START_AT: '', CI: '', GITHUB_STEP_SUMMARY: '', ...env },
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

test('two matrix jobs shard one bench file; merge; the matchers judge the merged run, which is the unsharded run', async () => {
  const startAt = new Date(Date.now() + 8000).toISOString()
  const jobs = await Promise.all([1, 2].map((i) => vitestJob(['bench', '--run'], { FLUXPERF_SHARD: `${i}/2`, FLUXPERF_START_AT: startAt, FLUXPERF_TEST_OUT: join(out, `shard-${i}`) })))
  for (const job of jobs) expect(job.code, job.output).toBe(0)
  const shards = [1, 2].map((i) => loadRun(join(out, `shard-${i}`, 'load-bench-ts-load-at-40-rps.json')) as TrafficResult)
  expect(shards.map((s) => s.shard && [s.shard.index, s.shard.count, s.shard.startAt])).toEqual([[0, 2, startAt], [1, 2, startAt]])

  const merge = await runCli(['merge', join(out, 'shard-1', 'load-bench-ts-load-at-40-rps.json'), join(out, 'shard-2', 'load-bench-ts-load-at-40-rps.json'), '-o', join(out, 'merged')])
  expect(merge.code, merge.stderr).toBe(0)
  expect(merge.stdout).toMatch(/Merged 2 shards of a traffic run \(seed 11\)/)

  const single = await vitestJob(['bench', '--run'], { FLUXPERF_TEST_OUT: join(out, 'single') })
  expect(single.code, single.output).toBe(0)
  const whole = loadRun(join(out, 'single', 'load-bench-ts-load-at-40-rps.json')) as TrafficResult
  const merged = loadRun(join(out, 'merged')) as TrafficResult
  const totals = (run: TrafficResult): number[] => [run.rounds[0]!.total, run.rounds[0]!.succeeded, Math.round(run.rounds[0]!.avgInputTokens * run.rounds[0]!.succeeded), Math.round(run.rounds[0]!.avgOutputTokens * run.rounds[0]!.succeeded)]
  expect(whole.rounds[0]!.total).toBeGreaterThan(0)
  expect(totals(merged)).toEqual(totals(whole))
  expect(shards[0]!.rounds[0]!.total + shards[1]!.rounds[0]!.total).toBe(whole.rounds[0]!.total)
  expect(merged.rounds[0]!.metrics.ttft!.count).toBe(shards[0]!.rounds[0]!.metrics.ttft!.count + shards[1]!.rounds[0]!.metrics.ttft!.count)

  // The last job: toMeetSlo on loadRun(merged) in a plain `vitest run`; it passes, and fails on a limit no run meets.
  const pass = await vitestJob(['run'], { FLUXPERF_MERGED: join(out, 'merged') })
  expect(pass.code, pass.output).toBe(0)
  expect(pass.output).toMatch(/1 passed/)
  const fail = await vitestJob(['run'], { FLUXPERF_MERGED: join(out, 'merged'), FLUXPERF_TTFT_LIMIT: '0.001' })
  expect(fail.code).toBe(1)
  expect(stripVTControlCharacters(fail.output)).toMatch(/ttft\s+p\(90\)\s+[\d.]+ ms\s+< 0\.001 ms\s+FAIL/)
}, 240_000)
