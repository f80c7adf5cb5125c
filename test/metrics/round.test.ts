import { describe, expect, test } from 'vitest'
import { dualRoundSpeedups, summariseRound } from '../../src/metrics/index.ts'
import { record } from '../helpers/records.ts'

const id = { label: 'Concurrency1-Round1', concurrency: 1, round: 1 }

describe('summariseRound', () => {
  test('TTFT, TPOT, latency and ITL gaps from known timings', () => {
    const round = summariseRound(id, [record(), record({ ttftMs: 300, latencyMs: 600, chunkOffsetsMs: [300, 400, 500, 600] })])
    expect(round.metrics.ttft).toMatchObject({ count: 2, avg: 200, min: 100, max: 300 })
    expect(round.metrics.latency?.avg).toBe(500)
    expect(round.metrics.itl).toMatchObject({ count: 6, avg: 100 })
    expect(round.metrics.tpot?.avg).toBe(100)
  })

  test('a chunk carrying k tokens spreads its gap over k ITL samples, keeping per-chunk gaps', () => {
    const round = summariseRound(id, [record({ chunkOffsetsMs: [100, 400], chunkTokens: [1, 3], outputTokens: 4 })])
    expect(round.metrics.itl).toMatchObject({ count: 3, avg: 100 })
    expect(round.metrics.itlChunk).toMatchObject({ count: 1, avg: 300 })
  })

  test('throughput divides by first start to last end', () => {
    const round = summariseRound(id, [record({ startedAt: 0, latencyMs: 1000 }), record({ startedAt: 1000, latencyMs: 1000 })])
    expect(round.durationS).toBe(2)
    expect(round.throughput.requestsPerS).toBe(1)
    expect(round.throughput.outputTokensPerS).toBe(4)
  })

  test('failures are counted by kind and kept out of the time metrics', () => {
    const failed = record({ ok: false, ttftMs: null, error: { kind: 'timeout', message: 'slow' } })
    const round = summariseRound(id, [record(), failed, { ...failed, error: { kind: 'timeout', message: 'later' } }])
    expect(round).toMatchObject({ total: 3, succeeded: 1, failed: 2 })
    expect(round.errors).toEqual([{ kind: 'timeout', count: 2, firstMessage: 'slow' }])
    expect(round.metrics.ttft?.count).toBe(1)
  })

  test('goodput counts requests and tokens that meet the per-request rule', () => {
    const round = summariseRound(id, [record(), record({ ttftMs: 900 })], (r) => (r.ttftMs ?? Infinity) < 500)
    expect(round.goodput).toMatchObject({ requests: 1, totalRequests: 2, requestShare: 0.5, tokens: 4, tokenShare: 0.5 })
  })

  test('the server-reported cached share is kept when the server reports it', () => {
    const round = summariseRound(id, [record({ cachedTokens: 8 }), record()])
    expect(round.cache).toMatchObject({ cachedTokens: 8, promptTokens: 10, cachedShare: 0.8, reportedBy: 1 })
    expect(summariseRound(id, [record()]).cache.cachedShare).toBeNull()
  })
})

describe('cold-round evidence', () => {
  test('the cached share of first turns is kept apart: a later turn reuses its own conversation', () => {
    const round = summariseRound(id, [record({ cachedTokens: 0, inputTokens: 100 }), record({ turnIndex: 1, cachedTokens: 180, inputTokens: 200 })])
    expect(round.cache).toMatchObject({ cachedShare: 0.6, reportedBy: 2 })
    expect(round.cache.firstTurns).toEqual({ promptTokens: 100, cachedTokens: 0, cachedShare: 0, reportedBy: 1 })
  })

  test('failed requests are kept by id (the first 20), to name those that may have warmed a cache', () => {
    const failures = Array.from({ length: 25 }, (_, i) => record({ id: `f${i}`, ok: false, ttftMs: null, error: { kind: i === 0 ? 'connection_refused' : 'timeout', message: 'x' } }))
    const round = summariseRound(id, [record(), ...failures])
    expect(round.failedRequests).toHaveLength(20)
    expect(round.failedRequests?.slice(0, 2)).toEqual([{ id: 'f0', kind: 'connection_refused' }, { id: 'f1', kind: 'timeout' }])
    expect(summariseRound(id, [record()]).failedRequests).toBeUndefined()
  })
})

describe('dualRoundSpeedups', () => {
  test('round 1 / round 2 of TTFT mean and p50 per level', () => {
    const r1 = summariseRound(id, [record({ ttftMs: 400 })])
    const r2 = summariseRound({ ...id, label: 'Concurrency1-Round2', round: 2 }, [record({ ttftMs: 100 })])
    const speedups = dualRoundSpeedups([r1, r2])
    expect(speedups.map((s) => [s.stat, s.ratio])).toEqual([['avg', 4], ['p50', expect.closeTo(4, 1)]])
  })

  test('a round with no successful request: the ratio is null with the reason, never 0', () => {
    const r1 = summariseRound(id, [record({ ttftMs: 400 })])
    const r2 = summariseRound({ ...id, label: 'Concurrency1-Round2', round: 2 }, [record({ ok: false, ttftMs: null, error: { kind: 'timeout', message: 'slow' } })])
    expect(dualRoundSpeedups([r1, r2]).map((s) => [s.ratio, s.reason])).toEqual([
      [null, 'no successful requests (1 failed) in Concurrency1-Round2'], [null, 'no successful requests (1 failed) in Concurrency1-Round2'],
    ])
  })
})

describe('RoundAccumulator', () => {
  test('mixing single-token and multi-token requests: ITL and per-chunk ITL each get the right samples', () => {
    const round = summariseRound(id, [
      record({ chunkOffsetsMs: [100, 200, 300] }),
      record({ chunkOffsetsMs: [100, 400], chunkTokens: [1, 3], outputTokens: 4 }),
    ])
    // ITL: two 100 ms gaps + three 100 ms spread gaps; per chunk: two 100 ms gaps + one 300 ms gap.
    expect(round.metrics.itl).toMatchObject({ count: 5, avg: 100, min: 100, max: 100 })
    expect(round.metrics.itlChunk).toMatchObject({ count: 3, min: 100, max: 300 })
    expect(round.metrics.itlChunk?.avg).toBeCloseTo(500 / 3)
    expect(round.metrics.itlChunk?.p99).toBeCloseTo(300, 0)
  })
})

describe('requests that succeeded in an unusual way', () => {
  test('re-sent, no [DONE] and non-streamed answers are counted per round and printed', async () => {
    const { formatRound } = await import('../../src/report/index.ts')
    const round = summariseRound(id, [record({ resent: true }), record({ noDoneMarker: true }), record({ streamed: false }), record({ streamed: false }), record()])
    expect(round.notes).toEqual({ resent: 1, noDoneMarker: 1, notStreamed: 2 })
    const text = formatRound(round)
    expect(text).toContain('1 request(s) re-sent on a new connection')
    expect(text).toContain('1 stream(s) ended after their finish chunk without data: [DONE]')
    expect(text).toContain('Warning: 2 streaming request(s) were answered with one JSON body')
  })

  test('a plain round has no notes', async () => {
    const { formatRound } = await import('../../src/report/index.ts')
    const round = summariseRound(id, [record(), record()])
    expect(round.notes).toBeUndefined()
    expect(formatRound(round)).not.toMatch(/^Note:|^Warning:/m)
  })
})
