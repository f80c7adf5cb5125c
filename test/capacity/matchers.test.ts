import { describe, expect, test } from 'vitest'
import { sustains } from '../../src/capacity/index.ts'
import { summariseRound } from '../../src/metrics/index.ts'
import { capacityCsv, formatCapacity } from '../../src/report/index.ts'
import type { CapacityResult, CapacityStep } from '../../src/types.ts'
import { record } from '../helpers/records.ts'

/** A step at `load` whose TTFT p(99) was `ttft` ms against `p(99) < 200`. */
function step(n: number, phase: CapacityStep['phase'], load: number, ttft: number, extra: Partial<CapacityStep> = {}): CapacityStep {
  const round = summariseRound({ label: `Rate${load.toFixed(2)}`, concurrency: 0, round: 1 }, Array.from({ length: 20 }, (_, i) => record({ id: `r${i}`, ttftMs: ttft })))
  const pass = ttft < 200
  return {
    step: n, phase, load, pass, ended: 'rule', why: 'every interval narrow', achievedRate: load, durationS: 5, clientSaturated: false, round,
    checks: [{ expression: 'p(99) < 200', metric: 'ttft', statistic: 'p(99)', observed: ttft, op: '<', limit: 200, pass, low: ttft * 0.9, high: ttft * 1.1 }],
    ...extra,
  }
}

/** A sweep over rate whose capacity is 20/s: 10 and 20 passed, 40 and 30 failed (30 over-saturated). */
function sweepResult(extra: Partial<CapacityResult> = {}): CapacityResult {
  const saturated = { saturated: true, reasons: ['TTFT from the intended send kept growing over the step (median 20 → 90 → 400 ms by thirds)'], ttftThirdsMs: [20, 90, 400] as [number, number, number], rateRatio: 1 }
  return {
    kind: 'capacity', schemaVersion: 1, tool: { name: 'fluxperf', version: '0' }, over: 'rate', endpoint: 'http://x/v1/chat/completions', model: 'm', seed: 1,
    startedAt: '', finishedAt: '', slo: { ttft: ['p(99) < 200'] }, config: {},
    settings: { minRequests: 50, ciWidth: 0.2, confidence: 0.95, maxStepDuration: 60, minStepDuration: 10, factor: 2, resolution: 0.05, start: 10, max: 10000, maxSteps: 16 },
    capacity: 20, failedAt: 30, stopReason: 'bracketed', summary: 'capacity 20.00 requests/s: 20.00 met the SLO and 30.00 did not', interrupted: false,
    steps: [step(1, 'up', 10, 50), step(2, 'up', 20, 80), step(3, 'up', 40, 900), step(4, 'bisect', 30, 400, { pass: false, ended: 'saturated', saturation: saturated })],
    ...extra,
  }
}

describe('toSustain', () => {
  test('passes at half the capacity and fails at twice it, naming the failed terms', () => {
    const capacity = sweepResult()
    expect(capacity).toSustain({ qps: 10 })
    expect(capacity).toSustain({ qps: 20 })
    let message = ''
    try {
      expect(capacity).toSustain({ qps: 40 })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/40 requests\/s is not sustained: capacity 20\.00 requests\/s/)
    expect(message).toMatch(/At 30 requests\/s \(step 4\): SATURATED/)
    expect(message).toMatch(/ttft p\(99\) < 200: observed 400\.00 \[360\.00, 440\.00\]/)
    expect(message).toMatch(/over-saturated: TTFT from the intended send kept growing/)
    expect(message).toMatch(/Capacity sweep over rate/)
  })

  test('.not passes above the capacity and fails below it', () => {
    expect(sweepResult()).not.toSustain({ qps: 40 })
    expect(() => expect(sweepResult()).not.toSustain({ qps: 10 })).toThrow(/Expected 10 requests\/s not to be sustained, but step 1 at 10 requests\/s met every SLO term/)
  })

  test('a sweep that never reached the load cannot say, with .not too', () => {
    const short = sweepResult({ capacity: 20, failedAt: null, stopReason: 'client-saturated', steps: [step(1, 'up', 10, 50), step(2, 'up', 20, 80), step(3, 'up', 40, 80, { pass: false, clientSaturated: true })] })
    expect(() => expect(short).toSustain({ qps: 30 })).toThrow(/cannot say whether 30 requests\/s is sustained: the client saturated/)
    expect(() => expect(short).not.toSustain({ qps: 30 })).toThrow(/cannot say/)
    expect(short).toSustain({ qps: 15 })
  })

  test('asks for the load the sweep varied, and one load', () => {
    expect(() => expect(sweepResult()).toSustain({ concurrency: 8 })).toThrow(/the sweep was over rate, so ask for \{ qps: … \}/)
    expect(() => expect(sweepResult()).toSustain({ qps: 1, concurrency: 2 })).toThrow(/give one load/)
    expect(() => expect(sweepResult()).toSustain({ qsp: 1 } as never)).toThrow(/qsp/)
    expect(() => expect({ rounds: [] }).toSustain({ qps: 1 })).toThrow(/expected a fluxperf CapacityResult/)
  })
})

describe('toHaveCapacity', () => {
  test('compares the capacity in the sweep\'s own unit', () => {
    expect(sweepResult()).toHaveCapacity({ atLeast: 20 })
    expect(() => expect(sweepResult()).toHaveCapacity({ atLeast: 25 })).toThrow(/25 requests\/s is not sustained/)
    const none = sweepResult({ capacity: null, failedAt: 10, stopReason: 'no-pass', summary: 'no load tried met the SLO', steps: [step(1, 'up', 10, 900)] })
    expect(() => expect(none).toHaveCapacity({ atLeast: 1 })).toThrow(/no load tried met the SLO/)
    expect(none).not.toHaveCapacity({ atLeast: 1 })
  })
})

describe('sustains', () => {
  test('an interrupted sweep cannot say beyond what it measured', () => {
    const cut = sweepResult({ interrupted: true, stopReason: 'interrupted', capacity: 10, failedAt: null, steps: [step(1, 'up', 10, 50)] })
    expect(sustains(cut, 5, 'rate', 't')).toMatchObject({ valid: true, sustained: true })
    expect(sustains(cut, 20, 'rate', 't')).toMatchObject({ valid: false, reason: expect.stringMatching(/interrupted/) })
  })
})

describe('capacity reports', () => {
  test('the table and the CSV have a row per step with its verdict and interval', () => {
    const text = formatCapacity(sweepResult())
    expect(text).toMatch(/step\s+load \(req\/s\)/)
    expect(text).toMatch(/4 bisect\s+30\.00.*400 \[360, 440\]\s+SATURATED\s+saturated/)
    expect(text).toMatch(/Capacity: capacity 20\.00 requests\/s/)
    const csv = capacityCsv(sweepResult()).trim().split('\n')
    expect(csv).toHaveLength(5)
    expect(csv[0]).toMatch(/^step,phase,load,pass,ended,.*ttft p\(99\),ttft p\(99\) low,ttft p\(99\) high,ttft p\(99\) pass$/)
    expect(csv[4]).toMatch(/^4,bisect,30,false,saturated,/)
  })
})
