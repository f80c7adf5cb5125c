import { afterEach, describe, expect, test } from 'vitest'
import { InputError } from '../../src/errors.ts'
import { assessCacheSpeedup } from '../../src/metrics/index.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import { matchers } from '../../src/vitest/matchers.ts'
import { dualRound, multiRoundQa, multiTurn, runDualRound, runMultiRoundQa, runMultiTurn } from '../../src/workloads/index.ts'

expect.extend(matchers)

let mock: MockServer | undefined
afterEach(async () => {
  await mock?.close()
  mock = undefined
})
const closed = 'http://127.0.0.1:9/v1/chat/completions'
const quick = { dataset: 'datasets/example.jsonl', samples: 4, maxOutputTokens: 4, seed: 1 }

describe('unknown workload options are runtime errors naming the nearest valid one (Vitest does not type-check)', () => {
  test.each([
    ['dualRound', () => runDualRound({ endpoint: closed, dataset: [], numSamples: 4 } as never), /^dualRound: unknown option "numSamples" \(did you mean "samples"\?\)$/],
    ['dualRound()', () => dualRound({ endpoint: closed, dataset: [], concurency: [2] } as never), /unknown option "concurency" \(did you mean "concurrency"\?\)/],
    ['multiTurn', () => runMultiTurn({ endpoint: closed, conversation: 2 } as never), /^multiTurn: unknown option "conversation" \(did you mean "conversations"\?\)$/],
    ['multiTurn()', () => multiTurn({ endpoint: closed, turn: 2 } as never), /did you mean "turns"/],
    ['multiRoundQa', () => runMultiRoundQa({ endpoint: closed, qps: 1, users: 2 } as never), /^multiRoundQa: unknown option "users" \(did you mean "numUsers"\?\)$/],
    ['multiRoundQa()', () => multiRoundQa({ endpoint: closed, qps: 1, answerLength: 2 } as never), /did you mean "answerLen"/],
    ['a hook', () => runDualRound({ endpoint: closed, dataset: [], hooks: { onReqest: () => undefined } } as never), /^dualRound: hooks: unknown hook "onReqest" \(did you mean "onRequest"\?\)$/],
    ['a goodputSlo key', () => runMultiTurn({ endpoint: closed, goodputSlo: { ttft: 500 } } as never), /^multiTurn: goodputSlo: unknown per-request SLO key "ttft" \(did you mean "ttftMs"\?\); accepted: ttft_ms, tpot_ms/],
    ['an empty goodputSlo', () => runMultiRoundQa({ endpoint: closed, qps: 1, goodputSlo: {} }), /no per-request limit given, so every request would count as good/],
    ['a limit given twice', () => runDualRound({ endpoint: closed, dataset: [], goodputSlo: { ttft_ms: 5, ttftMs: 5 } }), /ttftMs: the same limit is also given as ttft_ms/],
  ])('%s', async (_name, start, message) => {
    const error = await start().then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toMatch(message)
  })
})

describe('goodputSlo in either spelling', () => {
  test('ttft_ms (the SLO YAML spelling) is applied, so a goodput that cannot be met fails', async () => {
    mock = await startMockServer({ port: 0 })
    const strict = await runDualRound({ endpoint: `${mock.url}/v1/chat/completions`, ...quick, goodputSlo: { ttft_ms: 0.001 } })
    expect(strict.rounds.map((r) => r.goodput?.requestShare)).toEqual([0, 0])
    expect(() => expect(strict).toHaveGoodput({ atLeast: 0.5 })).toThrow(/FAIL/)
    const loose = await runDualRound({ endpoint: `${mock.url}/v1/chat/completions`, ...quick, goodputSlo: { ttftMs: 60_000, latency_ms: 60_000 } })
    expect(loose).toHaveGoodput({ atLeast: 1 })
  })
})

describe('cold-round evidence in the results', () => {
  test('each round 1 records its cache reset; a reset URL alone resets before the first level only', async () => {
    mock = await startMockServer({ port: 0 })
    const endpoint = `${mock.url}/v1/chat/completions`
    const once = await runDualRound({ endpoint, ...quick, concurrency: [1, 2], resetCacheUrl: `${mock.url}/reset_prefix_cache` })
    expect(once.rounds.map((r) => r.cacheReset)).toEqual([
      { attempted: true, ok: true, url: `${mock.url}/reset_prefix_cache` }, undefined, { attempted: false, ok: false }, undefined,
    ])
    // Level 2's round 1 found level 1's cache: the server's own counts say so, and the speedup check fails.
    expect(assessCacheSpeedup(once).map((l) => l.coldRound?.status)).toEqual(['cold', 'warm'])
    expect(() => expect(once).toHaveCacheSpeedup({ atLeast: 0.01, concurrency: 2 })).toThrow(/Concurrency2-Round1 was not cold[\s\S]*--reset-cache-between-rounds/)
    expect(once).toHaveCacheSpeedup({ atLeast: 0.01, concurrency: 1 })

    const every = await runDualRound({ endpoint, ...quick, concurrency: [1, 2], resetCacheUrl: `${mock.url}/reset_prefix_cache`, resetCacheBetweenRounds: true })
    expect(every.rounds.filter((r) => r.round === 1).map((r) => r.cacheReset?.ok)).toEqual([true, true])
    expect(every).toHaveCacheSpeedup({ atLeast: 0.01 })

    const broken = await runDualRound({ endpoint, ...quick, resetCacheUrl: `${mock.url}/no-such-reset` })
    expect(broken.rounds[0]?.cacheReset).toEqual({ attempted: true, ok: false, url: `${mock.url}/no-such-reset`, message: 'HTTP 404' })
    expect(broken.rounds[0]?.cache.firstTurns?.reportedBy).toBe(4)
  })

  test('a mock warmed by an earlier run without reset: the second run cannot pass toHaveCacheSpeedup', async () => {
    mock = await startMockServer({ port: 0 })
    const endpoint = `${mock.url}/v1/chat/completions`
    const first = await runDualRound({ endpoint, ...quick })
    expect(first).toHaveCacheSpeedup({ atLeast: 0.01 }) // a fresh mock: the server reports round 1 uncached
    const second = await runDualRound({ endpoint, ...quick })
    expect(() => expect(second).toHaveCacheSpeedup({ atLeast: 0.01 })).toThrow(/Concurrency1-Round1 was not cold: the server reported \d+\.\d% of its prompt tokens as cached \(Concurrency1-Round2: \d+\.\d%\)/)
  })

  test('multi-turn: turn 1 records the reset before the run', async () => {
    mock = await startMockServer({ port: 0 })
    const run = await runMultiTurn({ endpoint: `${mock.url}/v1/chat/completions`, conversations: 2, turns: 2, parallel: 2, maxOutputTokens: 4, minDelay: 0, maxDelay: 0, seed: 1, resetCacheUrl: `${mock.url}/reset` })
    expect(run.rounds[0]?.cacheReset).toMatchObject({ attempted: true, ok: true })
    expect(run.rounds[1]?.cacheReset).toBeUndefined()
    expect(run).toHaveCacheSpeedup({ atLeast: 0.01 })
  })
})
