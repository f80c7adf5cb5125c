import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { configDifferences, formatConfigDifferences, readBaseline } from '../../src/baseline/index.ts'
import type { RunResult } from '../../src/types.ts'
import { dualRoundRun, multiTurnRun, qaRun, roundResult } from '../report/fixtures.ts'

const dual = (config: Record<string, unknown>, fields: Partial<RunResult> = {}): RunResult => dualRoundRun(undefined, { config, ...fields } as never)
const diff = (baseline: RunResult, run: RunResult): string => formatConfigDifferences(configDifferences(baseline, run))

describe('configDifferences: what a baseline and a run measured differently', () => {
  test('the same settings: nothing', () => {
    const config = { dataset: 'datasets/a.jsonl', concurrency: [2, 4], maxOutputTokens: 32, seed: 42 }
    expect(configDifferences(dual(config), dual({ ...config }))).toEqual([])
  })

  test('names every differing setting with both values, in the run\'s order', () => {
    const baseline = dual({ dataset: 'a.jsonl', concurrency: [2], maxOutputTokens: 8, samples: 12 })
    const run = dual({ maxOutputTokens: 64, dataset: 'b.jsonl', concurrency: [2, 4] })
    expect(configDifferences(baseline, run)).toEqual([
      { key: 'maxOutputTokens', baseline: 8, run: 64 },
      { key: 'dataset', baseline: 'a.jsonl', run: 'b.jsonl' },
      { key: 'concurrency', baseline: [2], run: [2, 4] },
      { key: 'samples', baseline: 12, run: undefined },
    ])
    expect(diff(baseline, run)).toBe('maxOutputTokens 8 → 64; dataset a.jsonl → b.jsonl; concurrency [2] → [2, 4]; samples 12 → not set')
  })

  test('the workload, the model and the seed count (the seed chooses the samples)', () => {
    const base = dual({ seed: 1 })
    expect(diff(base, dual({ seed: 2 }, { model: 'other' }))).toBe('model test-model → other; seed 1 → 2')
    expect(diff(base, multiTurnRun([roundResult()], { config: { seed: 1, turns: 3 } }))).toMatch(/^workload dual-round → multi-turn; .*turns not set → 3/)
  })

  test('where and how to connect, how the cache is emptied and what is recorded besides the timings do not count', () => {
    const baseline = dual({
      endpoint: 'http://127.0.0.1:40001/v1/chat/completions', resetCacheUrl: 'http://127.0.0.1:40001/reset_prefix_cache', dataset: 'a.jsonl',
      headers: { 'x-team': '[redacted]' }, timeout: 300, keepAlive: true, goodputSlo: { ttft_ms: 500 },
    })
    const run = dual({
      endpoint: 'http://staging:8000/v1/chat/completions', resetCache: true, engine: 'vllm', dataset: 'a.jsonl', secretHeaders: ['x-key'],
      timeout: 30, keepAliveTimeout: 2, proxy: 'http://proxy:3128', insecure: true, prometheus: { url: 'http://staging:8000/metrics' }, outputDir: 'results', debug: true,
    })
    expect(configDifferences(baseline, run)).toEqual([])
  })

  test('no seed set: runs that sample draw other requests, and that counts; runs that send every row do not', () => {
    const unseeded = (seed: number, config: Record<string, unknown>): RunResult => dual(config, { seed })
    expect(diff(unseeded(11, { samples: 8 }), unseeded(12, { samples: 8 }))).toBe('seed 11 (drawn at random) → 12 (drawn at random; pass a seed so that runs send the same requests)')
    expect(diff(unseeded(11, { shuffleRound2: true }), unseeded(12, { shuffleRound2: true }))).toMatch(/^seed 11 \(drawn at random\)/)
    expect(diff(unseeded(11, {}), unseeded(12, {}))).toBe('')
    expect(diff(unseeded(11, { samples: 8 }), unseeded(11, { samples: 8 }))).toBe('')
    const turns = (seed: number): RunResult => multiTurnRun([roundResult()], { seed, config: { turns: 3 } } as never)
    expect(diff(turns(1), turns(2))).toMatch(/^seed 1 \(drawn at random\)/)
  })

  test('an absent setting is its default; paths are compared normalised; the shipped seed documents are the same anywhere', () => {
    expect(diff(dual({ dataset: './a.jsonl' }), dual({ dataset: 'a.jsonl', concurrency: [1], stream: true, retries: 0, shuffleRound2: false }))).toBe('')
    expect(diff(dual({}), dual({ concurrency: [4] }))).toBe('concurrency [1] → [4]')
    expect(diff(dual({ stream: true }), dual({ stream: false }))).toBe('stream true → false')
    const turns = (documents: string): RunResult => multiTurnRun([roundResult()], { config: { documents, turns: 3 } })
    expect(diff(turns('/home/a/fluxperf/datasets/seed-documents'), turns('/ci/work/node_modules/fluxperf/datasets/seed-documents/'))).toBe('')
    expect(diff(turns('/home/a/docs'), turns('/home/a/other-docs'))).toBe('documents /home/a/docs → /home/a/other-docs')
  })

  test('multi-round QA: the answer length is maxOutputTokens, named once', () => {
    const qa = (answerLen: number, both = true): RunResult => qaRun(roundResult(), { config: { qps: 2, answerLen, ...(both ? { maxOutputTokens: answerLen } : {}) } } as never)
    expect(diff(qa(8), qa(64))).toBe('maxOutputTokens 8 → 64')
    expect(diff(qa(8, false), qa(8))).toBe('')
  })

  test('the repository\'s schema-1 baseline and the same benchmark run through the plugin today measure the same thing', () => {
    const baseline = readBaseline(fileURLToPath(new URL('../../baselines/prefix-cache.json', import.meta.url)))
    const today = dual({
      endpoint: 'http://127.0.0.1:36123/v1/chat/completions', resetCacheUrl: 'http://127.0.0.1:36123/reset_prefix_cache', resetCache: true,
      dataset: 'datasets/example.jsonl', concurrency: [8], samples: 12, maxOutputTokens: 32, seed: 42, resetCacheBetweenRounds: true,
    }, { model: 'mock-llm' })
    expect(configDifferences(baseline, today)).toEqual([])
    expect(diff(baseline, { ...today, config: { ...today.config, maxOutputTokens: 64 } })).toBe('maxOutputTokens 32 → 64')
  })
})
