import { describe, expect, it } from 'vitest'
import { summariseRound } from '../../src/metrics/round.ts'
import { goodputPredicate, meetsRequestSlo, parseSlo } from '../../src/slo/index.ts'
import { record } from '../helpers/records.ts'

describe('meetsRequestSlo (the goodput rule)', () => {
  const limits = { ttftMs: 1000, tpotMs: 50, latencyMs: 10_000 }

  it('counts a successful request under every limit', () => {
    expect(meetsRequestSlo(record({ ttftMs: 999, tpotMs: 49.9, latencyMs: 9999 }), limits)).toBe(true)
  })

  it.each([
    ['TTFT at the limit (strict <)', { ttftMs: 1000 }],
    ['TPOT at the limit', { tpotMs: 50 }],
    ['latency over the limit', { latencyMs: 10_001 }],
    ['a failed request', { ok: false, error: { kind: 'timeout' as const, message: 't' } }],
    ['no TTFT (no content arrived)', { ttftMs: null }],
  ])('rejects %s', (_, overrides) => {
    expect(meetsRequestSlo(record({ ttftMs: 100, tpotMs: 10, latencyMs: 500, ...overrides }), limits)).toBe(false)
  })

  it('passes a TPOT limit when TPOT is null (a single-token answer)', () => {
    expect(meetsRequestSlo(record({ tpotMs: null, outputTokens: 1 }), limits)).toBe(true)
  })

  it('checks only the limits given', () => {
    expect(meetsRequestSlo(record({ ttftMs: 5000, latencyMs: 90_000 }), { tpotMs: 500 })).toBe(true)
    expect(meetsRequestSlo(record({ ttftMs: null }), {})).toBe(true)
    expect(meetsRequestSlo(record({ ok: false }), {})).toBe(false)
  })
})

describe('goodputPredicate', () => {
  it('is undefined without per-request limits', () => {
    expect(goodputPredicate(parseSlo({ ttft: ['p(90) < 5'] }, 'x'))).toBeUndefined()
  })

  it('gives the seed goodput math when summarising a round', () => {
    const meets = goodputPredicate(parseSlo({ slo: { ttft_ms: 200, itl_ms: 50, latency_ms: 1000 } }, 'x'))
    const records = [
      record({ ttftMs: 100, tpotMs: 20, latencyMs: 500, outputTokens: 10, startedAt: 0 }),
      record({ ttftMs: 300, tpotMs: 20, latencyMs: 500, outputTokens: 20, startedAt: 0 }), // TTFT too slow
      record({ ttftMs: 100, tpotMs: 60, latencyMs: 900, outputTokens: 30, startedAt: 0 }), // TPOT too slow
      record({ ttftMs: 150, tpotMs: null, latencyMs: 150, outputTokens: 1, startedAt: 0 }), // one token: passes
      record({ ok: false, ttftMs: null, latencyMs: 2000, outputTokens: 0, startedAt: 0, error: { kind: 'timeout', message: 't' } }),
    ]
    const round = summariseRound({ label: 'L', concurrency: 1, round: 1 }, records, meets)
    expect(round.goodput).toMatchObject({ requests: 2, totalRequests: 5, requestShare: 0.4, tokens: 11, totalTokens: 61 })
    expect(round.goodput?.requestsPerS).toBeCloseTo(2 / 2, 6) // wall time 0 → 2000 ms
  })
})
