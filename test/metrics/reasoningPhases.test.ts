// The round's reasoning metrics, from records whose phases are known exactly.
import { describe, expect, test } from 'vitest'
import { mergeRounds } from '../../src/merge/index.ts'
import { summariseRound } from '../../src/metrics/index.ts'
import { evaluateSlo, parseSlo } from '../../src/slo/index.ts'
import type { RunResult } from '../../src/types.ts'
import { record } from '../helpers/records.ts'

const id = { label: 'Concurrency1-Round1', concurrency: 1, round: 1 }
// 4 reasoning chunks 10 ms apart from 100 ms, then 3 answer chunks 20 ms apart from 300 ms; end at 340 ms.
const thinking = record({
  ttftMs: 100, ttfatMs: 300, latencyMs: 340, chunkOffsetsMs: [100, 110, 120, 130, 300, 320, 340], outputTokens: 7,
  reasoning: { firstMs: 100, timeMs: 200, tokens: 4, tokenSource: 'usage', chunks: 4 },
})
const plain = record({ ttftMs: 50, ttfatMs: 50, latencyMs: 80, chunkOffsetsMs: [50, 60, 70, 80], outputTokens: 4 })

describe('reasoning metrics of a round', () => {
  test('reasoning time, tokens and per-phase ITL/TPOT come from the reasoning records; TTFAT and answer tokens from all', () => {
    const round = summariseRound(id, [thinking, plain])
    const m = round.metrics
    expect(m.ttfat).toMatchObject({ count: 2, min: 50, max: 300 })
    expect(m.answerTokens).toMatchObject({ count: 2, min: 3, max: 4 })
    expect(m.reasoningTime).toMatchObject({ count: 1, avg: 200 })
    expect(m.reasoningTokens).toMatchObject({ count: 1, avg: 4 })
    // Gaps inside each phase only: 3 of 10 ms, then 2 of 20 ms (the 170 ms jump into the answer is in neither).
    expect(m.reasoningItl).toMatchObject({ count: 3, min: 10, max: 10 })
    expect(m.answerItl).toMatchObject({ count: 2, min: 20, max: 20 })
    expect(m.reasoningTpot!.avg).toBeCloseTo(50, 6)
    expect(m.answerTpot!.avg).toBeCloseTo(20, 6)
    // ITL over the whole answer still has every gap.
    expect(m.itl!.count).toBe(6 + 3)
  })

  test('a round of a model that does not reason has TTFAT (= TTFT) and no reasoning metrics; an SLO on them cannot pass', () => {
    const round = summariseRound(id, [plain, record({ ...plain, ttfatMs: undefined })])
    expect(round.metrics.ttfat).toMatchObject({ count: 2, min: 50, max: 50 })
    expect(Object.keys(round.metrics)).not.toContain('reasoningTime')
    const run = { rounds: [round] } as unknown as RunResult
    const verdict = evaluateSlo(run, parseSlo({ reasoningTime: ['p(90) < 100000'], ttfat: ['p(90) < 100000'] }, 'test'))
    const checks = verdict.map((c) => [c.metric, c.pass, c.reason ?? ''])
    expect(checks).toContainEqual(['ttfat', true, ''])
    expect(checks.find((c) => c[0] === 'reasoningTime')).toEqual(['reasoningTime', false, expect.stringMatching(/no request reasoned/)])
  })

  test('SLO terms on ttfat and reasoning_time pass and fail on the two sides of the known value', () => {
    const run = { rounds: [summariseRound(id, [thinking])] } as unknown as RunResult
    const pass = (slo: Parameters<typeof parseSlo>[0]): boolean[] => evaluateSlo(run, parseSlo(slo, 'test')).map((c) => c.pass)
    expect(pass({ ttfat: ['max < 301'], reasoning_time: ['avg < 201'] })).toEqual([true, true])
    expect(pass({ ttfat: ['max < 299'] })).toEqual([false])
    expect(pass({ reasoningTime: ['avg < 199'] })).toEqual([false])
  })

  test('shards merge the reasoning metrics exactly, and the tool-call counts', () => {
    const a = summariseRound(id, [thinking, record({ ...plain, toolCalls: { count: 2, firstMs: 50 } })])
    const b = summariseRound(id, [thinking, thinking])
    const whole = summariseRound(id, [thinking, record({ ...plain, toolCalls: { count: 2, firstMs: 50 } }), thinking, thinking])
    const merged = mergeRounds([a, b])
    for (const name of ['ttfat', 'reasoningTime', 'reasoningItl', 'answerItl', 'answerTpot'] as const) {
      expect(merged.metrics[name]!.count).toBe(whole.metrics[name]!.count)
      expect(merged.metrics[name]!.p90).toBeCloseTo(whole.metrics[name]!.p90, 6)
    }
    expect(merged.toolCalls).toEqual({ requests: 1, calls: 2 })
  })
})

describe('a request that reasoned and never answered', () => {
  test('is counted, and a ttfat term fails saying why instead of passing on the requests that did answer', () => {
    const cut = record({ ttftMs: 100, ttfatMs: null, latencyMs: 200, chunkOffsetsMs: [100, 150, 200], outputTokens: 3, finishReason: 'length', reasoning: { firstMs: 100, timeMs: null, tokens: 3, tokenSource: 'usage', chunks: 3 } })
    const round = summariseRound(id, [thinking, cut])
    expect(round.notes).toEqual({ noAnswer: 1 })
    const run = { rounds: [round] } as unknown as RunResult
    const [check] = evaluateSlo(run, parseSlo({ ttfat: ['p(50) < 100000'] }, 'test'))
    expect(check).toMatchObject({ pass: false, reason: expect.stringMatching(/1 request\(s\) reasoned and never answered/) })
    // Without it, the same term passes.
    expect(evaluateSlo({ rounds: [summariseRound(id, [thinking])] } as unknown as RunResult, parseSlo({ ttfat: ['p(50) < 100000'] }, 'test'))[0]!.pass).toBe(true)
  })
})
