import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import type { RunResult } from '../../src/types.ts'
import { runMain } from '../cli/inProcess.ts'
import { freePort } from '../helpers/net.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-prom-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let mock: MockServer | undefined
afterEach(async () => {
  await mock?.close()
  mock = undefined
})

/** Six single-turn prompts of ~130 tokens that share no 16-token block: round 1 can hit nothing. */
const dataset = join(dir, 'distinct.jsonl')
beforeAll(() => {
  const words = 'amber birch cedar dune ember fjord glade heath inlet jetty knoll loch marsh nook oasis peak quay ridge shoal tarn'.split(' ')
  const rows = Array.from({ length: 6 }, (_, i) => ({ text: `Request ${i}: ${Array.from({ length: 110 }, (_, j) => `${words[(i * 7 + j) % words.length]}${i}`).join(' ')}` }))
  writeFileSync(dataset, rows.map((r) => JSON.stringify(r)).join('\n') + '\n')
})

describe('run --prometheus-url against the mock /metrics', () => {
  test('the prefix-cache hit rate is ≈ 0 in round 1 and high in round 2; CSV blocks, console section and run.json', async () => {
    mock = await startMockServer({ port: 0, timeScale: 0.1 })
    const out = join(dir, 'run')
    const r = await runMain([
      'run', '--endpoint', `${mock.url}/v1/chat/completions`, '--dataset', dataset, '--concurrency', '2', '--max-output-tokens', '8',
      '--seed', '3', '--no-progress', '--output-dir', out,
      '--prometheus-url', `${mock.url}/metrics`, '--prometheus-metrics', 'vllm:num_requests_running', 'vllm:generation_tokens_total{model_name="mock-llm"}',
      '--reset-cache-url', `${mock.url}/reset_prefix_cache`, '--reset-cache-between-rounds',
    ])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunResult
    const [r1, r2] = ['Concurrency2-Round1', 'Concurrency2-Round2'].map((label) => run.prometheus?.[label])
    expect(r1?.prefixCacheHitRate).toBeLessThan(0.05)
    expect(r2?.prefixCacheHitRate).toBeGreaterThan(0.8)
    expect(r1?.prefixCache?.queries).toBeGreaterThan(0)
    // a counter is a delta (6 requests × 8 tokens), never a statistic of the cumulative value
    expect(r2?.counters['vllm:generation_tokens_total{model_name="mock-llm"}']?.delta).toBe(48)
    expect(r2?.gauges['vllm:num_requests_running']?.count).toBeGreaterThanOrEqual(2)
    expect(r2?.failedScrapes).toBe(0)
    const csv = readFileSync(join(out, 'metrics_summary.csv'), 'utf8')
    expect(csv).toContain('\nPrometheus: Prefix cache hit rate (derived: Δhits / Δqueries)\nHit Rate,0,')
    expect(csv).toContain('\n"Prometheus: vllm:generation_tokens_total{model_name=""mock-llm""} (counter)"\nDelta,48,48\nRate (/s),')
    expect(csv).toMatch(/\nPrometheus: vllm:num_requests_running \(gauge\)\nAverage,[\d.]+,[\d.]+\nP50,/)
    expect(r.stdout).toContain('Prometheus metrics from')
    expect(r.stdout).toMatch(/ {2}Hit Rate +0 +0\.9\d{3}/)
  })

  test('--prometheus-mode request: each request\'s own counter delta (one at a time, 8 tokens each)', async () => {
    mock = await startMockServer({ port: 0, timeScale: 0.1 })
    const out = join(dir, 'per-request')
    const r = await runMain([
      'run', '--endpoint', `${mock.url}/v1/chat/completions`, '--dataset', dataset, '--concurrency', '1', '--max-output-tokens', '8',
      '--seed', '3', '--no-progress', '--output-dir', out, '--allow-unverified-cold-round',
      '--prometheus-url', `${mock.url}/metrics`, '--prometheus-metrics', 'vllm:generation_tokens_total{model_name="mock-llm"}', '--prometheus-mode', 'request',
    ])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunResult
    for (const label of ['Concurrency1-Round1', 'Concurrency1-Round2']) {
      expect(run.prometheus?.[label]?.perRequest?.['vllm:generation_tokens_total{model_name="mock-llm"}']).toMatchObject({ count: 6, min: 8, max: 8 })
    }
    expect(run.rounds.map((round) => round.succeeded)).toEqual([6, 6])
  })

  test('an unreachable --prometheus-url never stops the run: failed scrapes are reported', async () => {
    mock = await startMockServer({ port: 0, timeScale: 0.1 })
    const out = join(dir, 'unreachable')
    const r = await runMain([
      'run', '--endpoint', `${mock.url}/v1/chat/completions`, '--dataset', dataset, '--num-samples', '2', '--max-output-tokens', '4',
      '--no-progress', '--output-dir', out, '--prometheus-url', `http://127.0.0.1:${await freePort()}/metrics`,
    ])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/Prometheus scrape failed: connection refused/)
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunResult
    expect(run.prometheus?.['Concurrency1-Round1']).toMatchObject({ failedScrapes: 2, scrapes: 0 })
    expect(run.rounds.every((round) => round.failed === 0)).toBe(true)
    expect(readFileSync(join(out, 'metrics_summary.csv'), 'utf8')).toContain('\nPrometheus: Scrapes\nSucceeded,0,0\nFailed,2,2')
  })

  test('bad Prometheus flags exit 2 naming the flag', async () => {
    const base = ['run', '--mock-server', '--dataset', dataset, '--no-progress', '--output-dir', join(dir, 'bad')]
    const noUrl = await runMain([...base, '--prometheus-metrics', 'x'])
    expect(noUrl.code).toBe(2)
    expect(noUrl.stderr).toContain('--prometheus-metrics: needs --prometheus-url')
    const badSelector = await runMain([...base, '--prometheus-url', 'auto', '--prometheus-metrics', 'x{a=1}'])
    expect(badSelector.code).toBe(2)
    expect(badSelector.stderr).toContain('--prometheus-metrics')
    const badMode = await runMain([...base, '--prometheus-mode', 'sometimes'])
    expect(badMode.code).toBe(2)
  })
})

describe('fluxperf prometheus check', () => {
  test('lists the metrics of the mock (name, type, series) and says the hit rate is available', async () => {
    mock = await startMockServer({ port: 0 })
    const r = await runMain(['prometheus', 'check', `${mock.url}/metrics`])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/vllm:prefix_cache_hits_total +counter +1\n/)
    expect(r.stdout).toMatch(/vllm:num_requests_running +gauge +1\n/)
    expect(r.stdout).toContain('Prefix-cache hit rate: available')
    expect(r.stdout).toContain('OK: readable')
  })

  test('--metrics: found ones with their series count; a missing one exits 1', async () => {
    mock = await startMockServer({ port: 0 })
    const ok = await runMain(['prometheus', 'check', `${mock.url}/metrics`, '--metrics', 'vllm:prompt_tokens_total{model_name="mock-llm"}'])
    expect(ok.code).toBe(0)
    const missing = await runMain(['prometheus', 'check', `${mock.url}/metrics`, '--metrics', 'vllm:prompt_tokens_total', 'lmcache_nothing'])
    expect(missing.code).toBe(1)
    expect(missing.stdout).toMatch(/lmcache_nothing +MISSING +0/)
    expect(missing.stdout).toContain('MISSING: 1 of 2 requested metrics')
  })

  test('why not: connection refused, a 404, not the exposition format', async () => {
    const refused = await runMain(['prometheus', 'check', `http://127.0.0.1:${await freePort()}/metrics`])
    expect(refused.code).toBe(1)
    expect(refused.stdout).toMatch(/^NOT READABLE: connection refused/)
    mock = await startMockServer({ port: 0 })
    const notFound = await runMain(['prometheus', 'check', `${mock.url}/nothing-here`])
    expect(notFound.code).toBe(1)
    expect(notFound.stdout).toMatch(/answered HTTP 404/)
    const json = await runMain(['prometheus', 'check', `${mock.url}/v1/models`])
    expect(json.code).toBe(1)
    expect(json.stdout).toMatch(/not the Prometheus text format/)
  })
})
