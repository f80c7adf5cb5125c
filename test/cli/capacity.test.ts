import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import type { CapacityResult, TrafficResult } from '../../src/types.ts'
import { runCli } from '../helpers/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-capacity-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('fluxperf traffic', () => {
  test('--trace replays the shipped example at a time scale and reports the prefix sharing its hash_ids imply', async () => {
    const out = join(dir, 'trace')
    const r = await runCli(['traffic', '--mock-server', '--trace', 'fluxperf:trace-example', '--time-scale', '0.05', '--seed', '1', '--no-progress', '--output-dir', out])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Trace Performance Metrics/)
    expect(r.stdout).toMatch(/Trace: fluxperf:trace-example, 200 requests, time scale 0\.05, 512-token blocks; the hash_ids imply 5\d\.\d % of prompt tokens cacheable/)
    expect(r.stdout).toMatch(/Open loop: target [\d.]+\/s, sent [\d.]+\/s; 200 scheduled, 200 sent, 0 late, 0 dropped/)
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as TrafficResult
    expect(run.workload).toBe('traffic')
    expect(run.rounds[0]!.total).toBe(200)
    expect(existsSync(join(out, 'report.html'))).toBe(true)
  })

  test('--stages reports each stage', async () => {
    const r = await runCli(['traffic', '--mock-server', '--stages', '10:0.5,20:0.5', '--input-tokens', '16', '--max-output-tokens', '2', '--seed', '1', '--no-progress', '--no-report', '--output-dir', join(dir, 'stages')])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Stage1-Rate10\.00 Performance Metrics[\s\S]*Total Requests: 5 [\s\S]*Stage2-Rate20\.00 Performance Metrics[\s\S]*Total Requests: 10 /)
  })

  test('a recipe sets the ramp stages like the flag', async () => {
    const recipe = join(dir, 'ramp.yaml')
    writeFileSync(recipe, 'global:\n  mock-server: true\n  stages: "5:0.6,10:0.6"\n  input-tokens: 16\n  max-output-tokens: 2\n  seed: 1\n')
    const r = await runCli(['traffic', '--recipe', recipe, '--no-progress', '--no-report', '--output-dir', join(dir, 'ramp')])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Stage1-Rate5\.00 Performance Metrics[\s\S]*Stage2-Rate10\.00 Performance Metrics/)
    expect(r.stdout).toMatch(/PASSED: 9\/9 requests succeeded, sent 7\.50\/s of 7\.50\/s/)
  })

  test.each([
    [['--mock-server'], /--rate: say what load to send: --rate <per second>, --stages <rate:seconds,...>, --trace <file> or --concurrency <n>/],
    [['--mock-server', '--rate', '2', '--concurrency', '3'], /--concurrency: give one of --rate, --stages, --trace and --concurrency, not --rate and --concurrency/],
    [['--mock-server', '--stages', '2:30,8'], /--stages: stage 2: expected rate:seconds/],
    [['--mock-server', '--trace', 'nope.jsonl'], /nope\.jsonl/],
    [['--mock-server', '--rate', '2', '--time-scale', '2'], /--time-scale: applies to --trace only/],
  ])('bad flags %j: exit 2 and one line naming the flag', async (args, message) => {
    const r = await runCli(['traffic', ...args, '--no-progress', '--output-dir', join(dir, 'bad')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})

describe('fluxperf sweep', () => {
  const slo = join(dir, 'slo.yaml')
  writeFileSync(slo, 'ttft: ["avg < 5000"]\n')

  test('a sweep that passes up to --max: capacity.json, capacity.csv, every step\'s run, the report; --min-capacity above it exits 99', async () => {
    const out = join(dir, 'sweep')
    const r = await runCli(['sweep', '--mock-server', '--slo-file', slo, '--start', '4', '--max', '8', '--min-requests', '5', '--min-step-duration', '0', '--input-tokens', '16',
      '--max-output-tokens', '2', '--seed', '1', '--no-progress', '--output-dir', out, '--min-capacity', '20'])
    expect(r.stdout).toMatch(/step 1 up 4 req\/s: \d+ requests in [\d.]+ s, pass/)
    expect(r.stdout).toMatch(/step 2 up 8 req\/s: \d+ requests in [\d.]+ s, pass/)
    expect(r.stdout).toMatch(/Capacity: capacity is at least 8\.00 requests\/s: every load up to the highest allowed met the SLO/)
    expect(r.stdout).toMatch(/CAPACITY BELOW --min-capacity 20/)
    expect(r.code).toBe(99)
    const capacity = JSON.parse(readFileSync(join(out, 'capacity.json'), 'utf8')) as CapacityResult
    expect(capacity).toMatchObject({ kind: 'capacity', over: 'rate', capacity: 8, stopReason: 'max-load', failedAt: null })
    expect(capacity.steps.map((s) => [s.phase, s.load, s.pass])).toEqual([['up', 4, true], ['up', 8, true]])
    expect(readFileSync(join(out, 'capacity.csv'), 'utf8').trim().split('\n')).toHaveLength(3)
    expect(readdirSync(join(out, 'steps')).sort()).toEqual(['step-01-up-rate4', 'step-02-up-rate8'])
    expect(existsSync(join(out, 'steps', 'step-01-up-rate4', 'run.json'))).toBe(true)
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/"capacity":\{"over":"rate","unit":"requests\/s","capacity":8,/)
    // fluxperf report on the sweep's directory writes the same capacity report again.
    const again = await runCli(['report', out, '-o', join(dir, 'sweep-again.html')])
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/a capacity sweep of 2 steps/)
    expect(readFileSync(join(dir, 'sweep-again.html'), 'utf8')).toMatch(/"capacity":\{"over":"rate","unit":"requests\/s","capacity":8,/)
  })

  test('without an SLO: exit 2, naming --slo-file', async () => {
    const r = await runCli(['sweep', '--mock-server', '--no-progress', '--output-dir', join(dir, 'noslo')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--slo-file: an SLO is required/)
  })

  test('--over concurrency steps whole numbers of requests in flight', async () => {
    const out = join(dir, 'conc')
    const r = await runCli(['sweep', '--mock-server', '--over', 'concurrency', '--slo-file', slo, '--max', '2', '--min-requests', '5', '--min-step-duration', '0', '--input-tokens', '16',
      '--max-output-tokens', '2', '--seed', '1', '--no-progress', '--no-report', '--output-dir', out])
    expect(r.code).toBe(0)
    const capacity = JSON.parse(readFileSync(join(out, 'capacity.json'), 'utf8')) as CapacityResult
    expect(capacity.steps.map((s) => [s.load, s.round.concurrency])).toEqual([[1, 1], [2, 2]])
    expect(capacity.capacity).toBe(2)
  })
})
