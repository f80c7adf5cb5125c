import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { commonVerdict } from '../../src/cli/verdict.ts'
import type { VerdictOptions } from '../../src/cli/verdict.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import { parseSlo } from '../../src/slo/index.ts'
import type { RunResult } from '../../src/types.ts'
import { dualRun, records } from '../helpers/runs.ts'
import { runMain } from './inProcess.ts'

/** The verdict's exit code and everything it printed. */
function decide(run: RunResult, options: VerdictOptions = {}): { code: number; text: string } {
  let text = ''
  const out = new Writable({ write(chunk, _enc, done) { text += String(chunk); done() } })
  const code = commonVerdict(run, 'reports in r/', out, options)
  return { code, text }
}

const cold = records(8, [400, 500])
const warm = records(8, [100, 120])
const timedOut = records(2, [0], { ok: false, ttftMs: null, error: { kind: 'timeout', message: 'timed out after 300 s' } }).map((r, i) => ({ ...r, id: `c4-r2-${i}` }))

describe('commonVerdict: the verdict table of every command', () => {
  test('all requests succeeded and the cold round was cold: PASSED, 0', () => {
    const { code, text } = decide(dualRun(cold, warm), { coldRounds: true })
    expect(code).toBe(0)
    expect(text).toMatch(/^PASSED: 16\/16 requests succeeded; reports in r\/$/m)
  })

  test('any failed request (a client-side timeout too): FAILED, 1, unless --max-error-rate allows it', () => {
    const run = dualRun(cold, [...warm, ...timedOut])
    const failed = decide(run, { coldRounds: true })
    expect(failed.code).toBe(1)
    expect(failed.text).toMatch(/^FAILED: 2 of 18 requests failed \(Concurrency4-Round2: 2\/10 timeout\); no failed request is allowed without --max-error-rate; reports in r\/$/m)
    expect(failed.text).not.toContain('PASSED')
    const allowed = decide(run, { coldRounds: true, maxErrorRate: 0.2 })
    expect(allowed.code).toBe(0)
    expect(allowed.text).toMatch(/^PASSED: 16\/18 requests succeeded \(2 failed, within --max-error-rate 0\.2\)/m)
    expect(decide(run, { maxErrorRate: 0.1 }).text).toMatch(/^FAILED: .*over --max-error-rate 0\.1/m)
  })

  test('every request failed: FAILED, 1, with the first error', () => {
    const { code, text } = decide(dualRun(timedOut, timedOut), { maxErrorRate: 1 })
    expect(code).toBe(1)
    expect(text).toMatch(/^FAILED: all 4 requests failed \(timeout: timed out after 300 s\)/m)
  })

  test('a cold round the server reports as warm: FAILED, 1, with both shares and how to reset', () => {
    const run = dualRun(records(8, [110], { cachedTokens: 9 }), records(8, [100], { cachedTokens: 10 }))
    const { code, text } = decide(run, { coldRounds: true })
    expect(code).toBe(1)
    expect(text).toContain('Cold round: Concurrency4-Round1 was not cold: the server reported 90.0% of its prompt tokens as cached (Concurrency4-Round2: 100.0%)')
    expect(text).toContain('--reset-cache-url <url> --reset-cache-between-rounds')
    expect(text).toMatch(/^FAILED: Concurrency4-Round1 was not cold \(90\.0% cached\)/m)
    // multi-round-qa has no cold round to judge
    expect(decide(run).code).toBe(0)
  })

  test('no reset and no cached-token counts: "cold round not verified", 1, unless --allow-unverified-cold-round', () => {
    const run = dualRun(cold, warm, { cacheReset: { attempted: false, ok: false } })
    const { code, text } = decide(run, { coldRounds: true })
    expect(code).toBe(1)
    expect(text).toMatch(/^FAILED: cold round not verified \(Concurrency4-Round1\)/m)
    expect(text).toContain('--allow-unverified-cold-round')
    expect(decide(run, { coldRounds: true, allowUnverifiedColdRound: true }).code).toBe(0)
  })

  test('failed cold-round requests are named as possibly having warmed the cache', () => {
    const run = dualRun([...cold, ...timedOut.map((r) => ({ ...r, id: r.id.replace('r2', 'r1') }))], warm)
    const { text } = decide(run, { coldRounds: true, maxErrorRate: 0.5 })
    expect(text).toContain('Note: 2 requests of Concurrency4-Round1 failed or timed out after reaching the server and may have warmed the cache for the rest: c4-r1-0 (timeout), c4-r1-1 (timeout).')
  })

  test('a speedup over a round with no successes is n/a and fails, even when errors are allowed', () => {
    const { code, text } = decide(dualRun(cold, timedOut), { coldRounds: true, maxErrorRate: 1 })
    expect(code).toBe(1)
    expect(text).toMatch(/^FAILED: cache speedup n\/a at concurrency 4 \(no successful requests \(2 failed\) in Concurrency4-Round2\)/m)
  })

  test('a run with no warm group (multi-turn -t 1) has no speedup to judge', () => {
    const run = dualRun(cold, warm)
    const { code } = decide({ ...run, rounds: run.rounds.slice(0, 1), speedups: [] }, { coldRounds: true })
    expect(code).toBe(0)
  })

  test('SLO missed: 99 with the table; with failed requests as well: 1, the table still printed', () => {
    const slo = parseSlo({ ttft: ['p(90) < 1'] }, 'slo.yaml')
    const missed = decide(dualRun(cold, warm), { slo })
    expect(missed.code).toBe(99)
    expect(missed.text).toMatch(/SLO \(slo\.yaml\):[\s\S]*FAIL[\s\S]*^SLO MISSED: 2 of 2 checks failed/m)
    const both = decide(dualRun(cold, [...warm, ...timedOut]), { slo })
    expect(both.code).toBe(1)
    expect(both.text).toMatch(/SLO \(slo\.yaml\):[\s\S]*^FAILED:/m)
  })

  test('interrupted: 130 whatever else happened', () => {
    const { code, text } = decide({ ...dualRun(cold, timedOut), interrupted: true }, { coldRounds: true })
    expect(code).toBe(130)
    expect(text).toMatch(/^INTERRUPTED: 10 requests completed before the stop/m)
  })
})

describe('the commands against the mock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fluxperf-verdict-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  let mock: MockServer | undefined
  afterEach(async () => {
    await mock?.close()
    mock = undefined
  })

  test('fluxperf run against a server whose cache a previous run warmed (no reset): FAILED, exit 1', async () => {
    mock = await startMockServer({ port: 0 })
    const args = ['run', '--endpoint', `${mock.url}/v1/chat/completions`, '--dataset', 'datasets/example.jsonl', '--num-samples', '4', '--max-output-tokens', '4', '--seed', '1', '--no-progress', '--output-dir', join(dir, 'warm')]
    const first = await runMain(args)
    expect(first.code).toBe(0)
    const second = await runMain(args)
    expect(second.code).toBe(1)
    expect(second.stdout).toMatch(/Cold round: Concurrency1-Round1 was not cold: the server reported \d+\.\d% of its prompt tokens as cached/)
    expect(second.stdout).not.toMatch(/^PASSED/m)
    // With --reset-cache-url the first round 1 is emptied first, and the run passes again.
    const reset = await runMain([...args, '--reset-cache-url', `${mock.url}/reset_prefix_cache`])
    expect(reset.code).toBe(0)
  })

  // The mock fails a seeded share of requests with HTTP 500: every command exits 1 unless --max-error-rate allows it.
  test.each([
    ['run', (url: string) => ['run', '--endpoint', `${url}/v1/chat/completions`, '--reset-cache-url', `${url}/reset`, '--dataset', 'datasets/example.jsonl', '--num-samples', '8', '--max-output-tokens', '4', '--seed', '1']],
    ['multi-turn', (url: string) => ['multi-turn', `${url}/v1`, '--reset-cache-url', `${url}/reset`, '-c', '4', '-t', '3', '-m', '4', '-p', '1', '--min-delay', '0', '--max-delay', '0', '--seed', '1']],
    ['multi-round-qa', (url: string) => ['multi-round-qa', '--base-url', url, '--qps', '10', '--time', '1', '--num-users', '2', '--answer-len', '4', '--seed', '1', '--output', join(dir, 'qa.csv')]],
  ])('%s: a failed request means exit 1 and no PASSED; --max-error-rate allows it', async (name, argsFor) => {
    mock = await startMockServer({ port: 0, errorRate: 0.3, seed: 3 })
    const args = [...argsFor(mock.url), '--no-progress', '--output-dir', join(dir, name)]
    const strict = await runMain(args)
    expect(strict.code).toBe(1)
    expect(strict.stdout).toMatch(/^FAILED: \d+ of \d+ requests failed .*no failed request is allowed without --max-error-rate/m)
    expect(strict.stdout).not.toMatch(/^PASSED/m)
    const allowed = await runMain([...args, '--max-error-rate', '0.95'])
    expect(allowed.stdout).toMatch(/^PASSED: \d+\/\d+ requests succeeded \(\d+ failed, within --max-error-rate 0\.95\)/m)
    expect(allowed.code).toBe(0)
  })

  test('--max-error-rate outside 0–1 is a usage error (exit 2) naming the flag', async () => {
    const r = await runMain(['multi-round-qa', '--mock-server', '--qps', '1', '--max-error-rate', '5', '--output-dir', join(dir, 'bad')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--max-error-rate')
  })
})
