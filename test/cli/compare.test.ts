// `fluxperf compare`: two runs of the same seed against a mock with no timing jitter are within noise;
// doubling the mock's inter-token latency for the second is a regression of ITL, TPOT and latency (exit 99).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startMockServer } from '../../src/mock/index.ts'
import { runMain } from './inProcess.ts'

const tmp = mkdtempSync(join(tmpdir(), 'fluxperf-compare-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A run against a fresh mock (no jitter, ITL `itlMs`), the same seed and requests every time. */
async function runAgainst(name: string, itlMs: number): Promise<string> {
  const mock = await startMockServer({ port: 0, jitter: 0, itlMs, itlPerSeqMs: 0, baseLatencyMs: 20 })
  try {
    const dir = join(tmp, name)
    const r = await runMain(['run', '--endpoint', `${mock.url}/v1/chat/completions`, '--reset-cache-url', `${mock.url}/reset_prefix_cache`, '--dataset', 'fluxperf:example',
      '--concurrency', '2', '--num-samples', '6', '--max-output-tokens', '24', '--ignore-eos', '--seed', '9', '--no-progress', '--no-report', '--output-dir', dir])
    expect(r.code, r.stderr).toBe(0)
    return dir
  } finally {
    await mock.close()
  }
}

describe('fluxperf compare', () => {
  let base: string
  let same: string
  let slower: string
  beforeAll(async () => {
    base = await runAgainst('base', 8)
    same = await runAgainst('same', 8)
    slower = await runAgainst('slower', 16)
  })

  test('the same run twice: within noise for every metric, exit 0', async () => {
    const r = await runMain(['compare', base, same, '--metrics', 'ttft,itl,tpot,latency', '--format', 'json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const rows = JSON.parse(r.stdout).rows as { metric: string; verdict: string }[]
    expect(rows.length).toBe(2 * 4 * 2) // rounds × metrics × stats
    expect(rows.filter((row) => row.verdict !== 'within noise')).toEqual([])
  })

  test('ITL doubled: ITL, TPOT and latency regressed; exit 99', async () => {
    const r = await runMain(['compare', base, slower, '--metrics', 'ttft,itl,tpot,latency', '--format', 'json'])
    expect(r.code).toBe(99)
    const rows = JSON.parse(r.stdout).rows as { metric: string; verdict: string; change: number }[]
    for (const row of rows.filter((x) => x.metric !== 'ttft')) {
      expect(row.verdict, JSON.stringify(row)).toBe('regressed')
      expect(row.change).toBeGreaterThan(0.3)
    }
    // TTFT is not asserted: the mock's prefill waits for the decode step under way, so a slower ITL moves it too.
  })

  test('table and markdown say the same; the other way round is an improvement, exit 0', async () => {
    const table = await runMain(['compare', base, slower])
    expect(table.code).toBe(99)
    expect(table.stdout).toMatch(/tpot\s+p50\s+[\d.]+\s+[\d.]+\s+\+\d+\.\d%\s+\[[\d.]+, [\d.]+\]\s+regressed/)
    expect(table.stdout).toMatch(/^\d+ regressed, \d+ improved, \d+ within noise \(of 12; tolerance 10%\)$/m)
    const markdown = await runMain(['compare', slower, base, '--format', 'markdown'])
    expect(markdown.code).toBe(0)
    expect(markdown.stdout).toContain('| round | metric | stat | base | new | change | interval (new/base) | verdict |')
    expect(markdown.stdout).toMatch(/\| tpot \| p50 \| .* \| improved \|/)
  })

  test('runs measured with other settings are refused, naming them; --allow-config-change flags them', async () => {
    const other = join(tmp, 'other')
    const mock = await startMockServer({ port: 0, jitter: 0 })
    try {
      await runMain(['run', '--endpoint', `${mock.url}/v1/chat/completions`, '--reset-cache-url', `${mock.url}/reset_prefix_cache`, '--dataset', 'fluxperf:example',
        '--concurrency', '2', '--num-samples', '6', '--max-output-tokens', '8', '--ignore-eos', '--seed', '9', '--no-progress', '--no-report', '--output-dir', other])
    } finally {
      await mock.close()
    }
    const refused = await runMain(['compare', base, other])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('the runs differ in configuration: maxOutputTokens 24 → 8')
    const flagged = await runMain(['compare', base, other, '--allow-config-change', '--format', 'markdown'])
    expect(flagged.stdout).toContain('> **Warning**: The runs differ in configuration: maxOutputTokens 24 → 8')
  })

  test('--html writes the report with the comparison', async () => {
    const file = join(tmp, 'cmp.html')
    const r = await runMain(['compare', base, slower, '--html', file])
    expect(r.code).toBe(99)
    expect(readFileSync(file, 'utf8')).toContain('"verdict":"regressed"')
  })

  const garbage = join(tmp, 'garbage.json')
  const notARun = join(tmp, 'other.json')
  writeFileSync(garbage, 'garbage\n{')
  writeFileSync(notARun, '{"rounds": 3}\n')
  test.each([
    [['compare', '/nope', '/nope2'], /\/nope: no such file or directory/],
    [['compare', garbage, notARun], /garbage\.json: cannot read baseline \(Unexpected token .*\)\n$/],
    [['compare', notARun, garbage], /other\.json: not a fluxperf baseline \(expected a RunResult/],
    [['compare', 'a', 'b', '--metrics', 'ttft,speed'], /--metrics: expected a comma-separated list of ttft, itl, itlChunk, tpot, latency/],
    [['compare', 'a', 'b', '--format', 'html'], /argument 'html' is invalid/],
  ])('%j: exit 2 with one line', async (args, message) => {
    const r = await runMain(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/^\s+at /m) // no stack
    // fluxperf's own errors are one line (commander adds its "run with --help" hint to its own).
    if (r.stderr.startsWith('fluxperf:')) expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
  })
})
