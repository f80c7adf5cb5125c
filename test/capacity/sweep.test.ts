import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { sweep } from '../../src/capacity/index.ts'
import { mockSaturation, startMockServer } from '../../src/mock/index.ts'
import type { MockServer, MockServerOptions } from '../../src/mock/index.ts'
import type { CapacityResult } from '../../src/types.ts'

// A mock with a known saturation rate: 4 sequences at once, 10 ms a token whatever the batch, no jitter.
const mockOptions: MockServerOptions = { maxNumSeqs: 4, itlMs: 10, itlPerSeqMs: 0, jitter: 0 }
const outputTokens = 10
let mock: MockServer
let capacity: CapacityResult
let saturationRate: number

beforeAll(async () => {
  mock = await startMockServer(mockOptions)
  // 64 synthetic tokens are 67 as the mock counts them (its chat template): the rate follows from its model.
  saturationRate = mockSaturation(mockOptions, { inputTokens: 67, outputTokens }).requestsPerS
  capacity = await sweep({
    slo: { ttft: ['p(90) < 150'] },
    workload: { endpoint: mock.url, inputTokens: 64, maxOutputTokens: outputTokens, seed: 1 },
    minRequests: 40,
    minStepDuration: 3,
    maxStepDuration: 6,
  })
}, 240_000)
afterAll(() => mock.close())

describe('sweep against the mock, whose saturation rate is known', () => {
  test('finds the highest rate meeting the SLO within 10 % of the computed saturation rate', () => {
    expect(saturationRate).toBeGreaterThan(20)
    expect(capacity.stopReason).toBe('bracketed')
    expect(capacity.capacity).not.toBeNull()
    expect(Math.abs(capacity.capacity! / saturationRate - 1)).toBeLessThan(0.1)
    expect(capacity.failedAt! / capacity.capacity! - 1).toBeLessThanOrEqual(0.05 + 1e-9)
  })

  test('probes first, goes up geometrically, and never above the first load that failed', () => {
    const [probe, ...steps] = capacity.steps
    expect(probe!.phase).toBe('probe')
    const firstFail = steps.findIndex((s) => !s.pass)
    expect(firstFail).toBeGreaterThan(0)
    const failedLoad = steps[firstFail]!.load
    for (const s of steps.slice(firstFail + 1)) expect(s.load).toBeLessThan(failedLoad)
    // Over the saturation rate the queue grows without bound: the step says so and ends early.
    const over = steps.filter((s) => s.load > saturationRate * 1.1)
    expect(over.length).toBeGreaterThan(0)
    for (const s of over) expect(s.pass).toBe(false)
    expect(over.some((s) => s.saturation?.saturated)).toBe(true)
    expect(capacity.steps.length).toBeLessThanOrEqual(capacity.settings.maxSteps)
  })

  test('every step says why it ended, with its SLO statistic and interval', () => {
    for (const s of capacity.steps) {
      expect(['rule', 'saturated', 'max-duration']).toContain(s.ended)
      expect(s.why.length).toBeGreaterThan(0)
      expect(s.checks[0]!.expression).toBe('p(90) < 150')
      if (s.phase !== 'probe') expect(s.round.total).toBeGreaterThan(0)
    }
  })

  test('toSustain passes at half the capacity and fails at twice it', () => {
    expect(capacity).toSustain({ qps: saturationRate / 2 })
    expect(() => expect(capacity).toSustain({ qps: saturationRate * 2 })).toThrow(/not sustained[\s\S]*ttft p\(90\) < 150|not sustained[\s\S]*over-saturated/)
    expect(capacity).toHaveCapacity({ atLeast: saturationRate * 0.9 })
  })
})
