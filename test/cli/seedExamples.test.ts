// The seed READMEs (the Python tools fluxperf replaces) show command lines naming
// examples/example_dataset.json and examples/slo_example.yaml. Each runs here as written, with
// `fluxperf run` for `python fluxperf.py` / `python dual_round_benchmarker.py`, the built-in mock in place
// of the endpoint, and small bounds; the changes from the seed's line are listed next to each.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { afterAll, describe, expect, test } from 'vitest'
import { freePort } from '../helpers/net.ts'
import { runMain } from './inProcess.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-seed-examples-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Added to every command: a temp --output-dir (unless the seed names one, then it is moved there),
// 8-token answers so a round takes a second, no progress bar, a fixed seed.
const bounds = ['--max-output-tokens', '8', '--no-progress', '--seed', '1']

function expectReports(outputDir: string, concurrency: number[]): void {
  const files = readdirSync(outputDir)
  expect(files).toContain('metrics_summary.csv')
  expect(files).toContain('run.json')
  for (const c of concurrency) for (const round of [1, 2]) expect(files).toContain(`concurrency_${c}_round_${round}.json`)
}

describe('the seed files ship in the seed formats', () => {
  test('examples/example_dataset.json: a JSON array of {"text": "..."} prompts (seed 003, "JSON 数组格式")', () => {
    const rows = JSON.parse(readFileSync('examples/example_dataset.json', 'utf8')) as unknown[]
    expect(Array.isArray(rows)).toBe(true)
    expect(rows.length).toBeGreaterThanOrEqual(10)
    for (const row of rows) {
      expect(Object.keys(row as object)).toEqual(['text'])
      expect(typeof (row as { text: unknown }).text).toBe('string')
    }
  })

  test('examples/slo_example.yaml: the seed keys slo.ttft_ms / itl_ms / latency_ms', () => {
    const { slo } = parse(readFileSync('examples/slo_example.yaml', 'utf8')) as { slo: Record<string, unknown> }
    expect(slo).toMatchObject({ ttft_ms: 1000, itl_ms: 50, latency_ms: 10000 })
  })
})

describe('the seed command lines that name examples/ files, against the mock', () => {
  // Seed 000 "Local Mock Service" and seed 001 "Mock Service" (the same line). Changed: the fixed
  // --mock-port 8765 becomes a free port, so that parallel test files cannot collide on it.
  test('fluxperf run --dataset examples/example_dataset.json --mock-server --mock-host 127.0.0.1 --mock-port 8765 --num-samples 4 --concurrency 2', async () => {
    const out = join(dir, 'mock-service')
    const port = String(await freePort())
    const r = await runMain(['run', '--dataset', 'examples/example_dataset.json', '--mock-server', '--mock-host', '127.0.0.1', '--mock-port', port, '--num-samples', '4', '--concurrency', '2', ...bounds, '--output-dir', out])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`127.0.0.1:${port}`)
    expect(r.stdout).toMatch(/^PASSED: 8\/8 requests succeeded/m)
    expectReports(out, [2])
  })

  // Seed 001 "Example 1: Basic Test" and seed 003 "运行基础测试" (the same line). Changed:
  // --endpoint http://localhost:8000/v1/chat/completions becomes --mock-server.
  test('fluxperf run --dataset examples/example_dataset.json --endpoint http://localhost:8000/v1/chat/completions --num-samples 10 --concurrency 5', async () => {
    const out = join(dir, 'basic')
    const r = await runMain(['run', '--dataset', 'examples/example_dataset.json', '--mock-server', '--num-samples', '10', '--concurrency', '5', ...bounds, '--output-dir', out])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^PASSED: 20\/20 requests succeeded/m)
    expectReports(out, [5])
  })

  // Seed 003 "运行完整测试（多并发 + Prometheus）". Changed: --endpoint becomes --mock-server;
  // --concurrency 5 10 20 becomes 1 2; --prometheus-url http://localhost:3001/metrics becomes `auto`
  // (the mock's /metrics, which has lmcache_hit_rate but not memory_usage_bytes: reported as not
  // found, not an error); --output-dir results/test_run moves to the temp dir. --num-samples 50 is
  // above the 12 rows, so all 12 are sent.
  test('fluxperf run --dataset examples/example_dataset.json --num-samples 50 --concurrency 5 10 20 --prometheus-url ... --prometheus-metrics lmcache_hit_rate memory_usage_bytes --slo-file examples/slo_example.yaml --output-dir results/test_run', async () => {
    const out = join(dir, 'results', 'test_run')
    const r = await runMain([
      'run', '--dataset', 'examples/example_dataset.json', '--mock-server', '--num-samples', '50', '--concurrency', '1', '2',
      '--prometheus-url', 'auto', '--prometheus-metrics', 'lmcache_hit_rate', 'memory_usage_bytes',
      '--slo-file', 'examples/slo_example.yaml', ...bounds, '--output-dir', out,
    ])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('lmcache_hit_rate (gauge)')
    expect(r.stdout).toContain('SLO (examples/slo_example.yaml):')
    expect(r.stdout).toMatch(/^PASSED: 48\/48 requests succeeded, every SLO check met/m)
    expectReports(out, [1, 2])
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))
    expect(run.slo).toMatchObject({ ttft_ms: 1000, itl_ms: 50, latency_ms: 10000 })
  })
})
