import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { hasStackTrace, runCli } from '../helpers/cli.ts'

// `--workers n` on the CLI: the same files as a one-worker run, every request counted; bad values exit 2.

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-workers-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const common = ['--mock-server', '--dataset', 'fluxperf:example', '--concurrency', '4', '--seed', '11', '--max-output-tokens', '4', '--precision', 'off', '--no-progress', '--save-requests']

/** File names without their timestamps. */
const layout = (out: string): string[] => readdirSync(out).map((f) => f.replace(/_\d{8}_\d{6}\.jsonl$/, '.jsonl')).sort()

test('fluxperf run --mock-server --workers 2 writes the one-worker run\'s files, and the verdict counts every request', async () => {
  const one = join(dir, 'one')
  const two = join(dir, 'two')
  const a = await runCli(['run', ...common, '--output-dir', one])
  const b = await runCli(['run', ...common, '--workers', '2', '--output-dir', two])
  expect(a.code, a.stderr).toBe(0)
  expect(b.code, b.stderr).toBe(0)
  expect(b.stdout).toMatch(/PASSED: 36\/36 requests succeeded/)
  expect(layout(two)).toEqual(layout(one))
  expect(layout(two)).toEqual(expect.arrayContaining(['run.json', 'report.html', 'metrics_summary.csv', 'concurrency_4_round_1.json', 'concurrency_4_round_2.json', 'requests_round1_conc4.jsonl']))
  const run = JSON.parse(readFileSync(join(two, 'run.json'), 'utf8'))
  expect(run.client.workers).toBe(2)
  expect(run.shard).toBeUndefined()
  expect(run.rounds.map((r: { total: number }) => r.total)).toEqual([18, 18])
  for (const round of [1, 2]) {
    const file = JSON.parse(readFileSync(join(two, `concurrency_4_round_${round}.json`), 'utf8'))
    const single = JSON.parse(readFileSync(join(one, `concurrency_4_round_${round}.json`), 'utf8'))
    expect(file.requests).toHaveLength(18)
    expect(Object.keys(file.configuration)).toEqual(Object.keys(single.configuration))
    expect(file.summary.total_requests).toBe(18)
  }
  const jsonl = readdirSync(two).filter((f) => f.startsWith('requests_')).flatMap((f) => readFileSync(join(two, f), 'utf8').trim().split('\n'))
  expect(jsonl).toHaveLength(36)
}, 90_000)

test('--workers 0, and --workers with --shard: a clear error, exit 2, no stack trace, nothing written', async () => {
  const out = join(dir, 'bad')
  const zero = await runCli(['run', ...common, '--workers', '0', '--output-dir', out])
  expect(zero.code).toBe(2)
  expect(zero.stderr).toMatch(/--workers <n>' argument '0' is invalid/)
  expect(hasStackTrace(zero.stderr)).toBe(false)
  const both = await runCli(['run', ...common, '--workers', '2', '--shard', '1/2', '--output-dir', out])
  expect(both.code).toBe(2)
  expect(both.stderr).toMatch(/--workers: give either --workers .* or --shard/)
  expect(hasStackTrace(both.stderr)).toBe(false)
  expect(existsSync(out) ? readdirSync(out).filter((f) => f.endsWith('.json')) : []).toEqual([])
}, 60_000)

test('--workers is in every workload command\'s help', async () => {
  for (const command of ['run', 'multi-turn', 'multi-round-qa', 'traffic']) {
    const help = await runCli([command, '--help'])
    expect(help.stdout, command).toMatch(/--workers <n>/)
  }
}, 60_000)

test('Ctrl-C stops every worker: exit 130, and run.json holds what completed, marked interrupted', async () => {
  const out = join(dir, 'interrupted')
  const r = await runCli(['traffic', '--mock-server', '--workers', '2', '--seed', '2', '--rate', '30', '--duration', '30', '--max-output-tokens', '4', '--precision', 'off', '--no-progress', '--output-dir', out], {
    onSpawn: (child) => void setTimeout(() => child.kill('SIGINT'), 4_000),
  })
  expect(r.code, r.stderr).toBe(130)
  expect(hasStackTrace(r.stderr)).toBe(false)
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))
  expect(run.interrupted).toBe(true)
  expect(run.client.workers).toBe(2)
  const total = run.rounds.reduce((n: number, x: { total: number }) => n + x.total, 0)
  expect(total).toBeGreaterThan(0)
  expect(total).toBeLessThan(900)
  expect(total).toBe(run.openLoop.sent)
  expect(r.stdout).toMatch(new RegExp(`INTERRUPTED: ${total} requests completed`))
}, 60_000)
