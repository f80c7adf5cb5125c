import { describe, expect, test } from 'vitest'
import { evaluateSlo, parsePerRequestSlo, parseSlo } from '../../src/slo/index.ts'
import { dualRun, records } from '../helpers/runs.ts'

describe('per-request SLO keys in either spelling', () => {
  test('parseSlo takes ttftMs / tpotMs / itlMs / latencyMs as ttft_ms / tpot_ms / itl_ms / latency_ms', () => {
    expect(parseSlo({ ttftMs: 500, tpotMs: 40, latencyMs: 9000 }, 'x').perRequest).toEqual({ ttftMs: 500, tpotMs: 40, latencyMs: 9000 })
    expect(parseSlo({ slo: { itlMs: 40 } }, 'x').perRequest).toEqual({ tpotMs: 40 })
    expect(() => parseSlo({ ttft_ms: 500, ttftMs: 500 }, 'x')).toThrow(/ttft_ms and ttftMs are the same limit; give only one/)
    expect(() => parseSlo({ ttftMsec: 500 }, 'x')).toThrow(/unknown SLO key "ttftMsec" \(did you mean "ttftMs"\?\)/)
  })

  test('the checks are labelled with the key as written', () => {
    const run = dualRun(records(4, [100]), records(4, [100]))
    const checks = evaluateSlo(run, parseSlo({ ttftMs: 50, tpot_ms: 500 }, 'x'))
    expect(checks.map((c) => [c.perRequestKey, c.pass])).toEqual([['ttftMs', false], ['tpot_ms', true], ['ttftMs', false], ['tpot_ms', true]])
  })

  test('parsePerRequestSlo: the goodput limits of a workload', () => {
    expect(parsePerRequestSlo({ ttft_ms: 1, itl_ms: 2, latencyMs: 3 }, 'w')).toEqual({ ttftMs: 1, tpotMs: 2, latencyMs: 3 })
    expect(parsePerRequestSlo({ ttft_ms: 1, tpot_ms: undefined }, 'w')).toEqual({ ttftMs: 1 })
    expect(() => parsePerRequestSlo({ ttft_ms: 0 }, 'w')).toThrow(/^w: ttft_ms: expected a positive number of milliseconds, got 0$/)
    expect(() => parsePerRequestSlo({ tpot_ms: 5, itl_ms: 5 }, 'w')).toThrow(/itl_ms: the same limit is also given as tpot_ms/)
    expect(() => parsePerRequestSlo({ latency: 5 }, 'w')).toThrow(/unknown per-request SLO key "latency" \(did you mean "latencyMs"\?\)/)
    expect(() => parsePerRequestSlo({}, 'w')).toThrow(/no per-request limit given/)
    expect(() => parsePerRequestSlo('fast', 'w')).toThrow(/expected per-request limits such as \{ ttft_ms: 1000 \}, got a string/)
  })
})

describe('numbers that are not numbers', () => {
  test('.nan and .inf in an SLO file are named as such, not "null"', async () => {
    const { parseSlo } = await import('../../src/slo/index.ts')
    expect(() => parseSlo({ slo: { ttft_ms: Number.NaN } }, 'slo.yaml')).toThrow(/not a number \(\.nan\)/)
    expect(() => parseSlo({ slo: { ttft_ms: Number.POSITIVE_INFINITY } }, 'slo.yaml')).toThrow(/an infinite number \(Infinity\)/)
  })

  test('a session_id of 1e400 (Infinity once parsed) is named out of range, not "a number"', async () => {
    const { describe: describeValue } = await import('../../src/data/rowFormats.ts')
    expect(describeValue(Number.POSITIVE_INFINITY)).toBe('a number out of range (Infinity)')
    expect(describeValue(3)).toBe('a number')
  })
})
