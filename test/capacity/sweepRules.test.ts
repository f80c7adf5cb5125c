import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { sustains, sweep } from '../../src/capacity/index.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'

// Short steps at low rates: these tests are about the rules, not the measurement.
const quick = { start: 5, max: 10, minRequests: 8, minStepDuration: 0, maxStepDuration: 5 } as const
let healthy: MockServer
beforeAll(async () => {
  healthy = await startMockServer({})
})
afterAll(() => healthy.close())

/** A mock that answers 30 % of requests with HTTP 500 (seeded), fresh for each test so its draws repeat. */
async function withFailingMock<T>(work: (url: string) => Promise<T>): Promise<T> {
  const mock = await startMockServer({ errorRate: 0.3, seed: 3 })
  try {
    return await work(mock.url)
  } finally {
    await mock.close()
  }
}

describe('sweep rules', () => {
  test('a server answering some requests with errors fails every step, however fast its successes', async () => {
    const c = await withFailingMock((endpoint) => sweep({ ...quick, minRequests: 20, maxSteps: 2, slo: { ttft: ['avg < 5000'] }, workload: { endpoint, inputTokens: 16, maxOutputTokens: 2, seed: 1 } }))
    expect(c.capacity).toBeNull()
    expect(c.steps.map((s) => s.pass)).toEqual([false, false])
    expect(c.steps[0]!.pass).toBe(false)
    expect(c.steps[0]!.why).toMatch(/requests failed \(http_5xx|requests failed/)
    expect(() => expect(c).toSustain({ qps: 1 })).toThrow(/not sustained/)
  })

  test('...unless the SLO bounds the error rate itself, or maxErrorRate allows it', async () => {
    const bounded = await withFailingMock((endpoint) => sweep({ ...quick, slo: { ttft: ['avg < 5000'], errorRate: ['rate < 0.9'] }, workload: { endpoint, inputTokens: 16, maxOutputTokens: 2, seed: 1 } }))
    expect(bounded.steps.map((s) => [s.load, s.pass])).toEqual([[5, true], [10, true]])
    const allowed = await withFailingMock((endpoint) => sweep({ ...quick, maxErrorRate: 0.9, slo: { ttft: ['avg < 5000'] }, workload: { endpoint, inputTokens: 16, maxOutputTokens: 2, seed: 1 } }))
    expect(allowed.steps.map((s) => [s.load, s.pass])).toEqual([[5, true], [10, true]])
  })

  test('a full connection pool ends the sweep as the client\'s limit, not the server\'s', async () => {
    const c = await sweep({ ...quick, start: 40, max: 80, slo: { ttft: ['avg < 5000'] }, workload: { endpoint: healthy.url, inputTokens: 16, maxOutputTokens: 64, maxConcurrency: 1, seed: 1 } })
    expect(c.stopReason).toBe('client-saturated')
    expect(c.steps.at(-1)!.clientSaturated).toBe(true)
    expect(c.steps.at(-1)!.why).toMatch(/waited for a connection: the pool \(--max-concurrency 1\) limited the load/)
    expect(() => expect(c).toSustain({ qps: 40 })).toThrow(/cannot say|not sustained/)
  })

  test('a sweep stopped before it narrowed its bracket cannot say about a load inside it', () => {
    const c = { kind: 'capacity', over: 'rate', capacity: 4, failedAt: 8, stopReason: 'max-steps', interrupted: false, steps: [
      { step: 1, phase: 'up', load: 4, pass: true, clientSaturated: false, ended: 'rule' },
      { step: 2, phase: 'up', load: 8, pass: false, clientSaturated: false, ended: 'rule' },
    ] } as never
    expect(sustains(c, 5, 'rate', 't')).toMatchObject({ valid: false, reason: expect.stringMatching(/search ended \(max-steps\) between 4 and 8/) })
    expect(sustains(c, 3, 'rate', 't')).toMatchObject({ valid: true, sustained: true })
    expect(sustains(c, 9, 'rate', 't')).toMatchObject({ valid: true, sustained: false })
  })

  test('an interruption before the first step runs no step', async () => {
    const controller = new AbortController()
    controller.abort()
    const c = await sweep({ ...quick, signal: controller.signal, slo: { ttft: ['avg < 5000'] }, workload: { endpoint: healthy.url, seed: 1 } })
    expect(c.steps).toEqual([])
    expect(c.stopReason).toBe('interrupted')
    expect(c.interrupted).toBe(true)
  })

  test('bad options name the option', async () => {
    await expect(sweep({ slo: { ttft: ['avg < 1'] }, factor: 1 })).rejects.toThrow(/--factor: expected a number > 1/)
    await expect(sweep({ slo: { ttft: ['avg < 1'] }, over: 'qps' as never })).rejects.toThrow(/--over: expected rate or concurrency/)
    await expect(sweep({ slo: { ttft: ['avg < 1'] }, minStepDuration: 9, maxStepDuration: 5 })).rejects.toThrow(/--min-step-duration/)
    await expect(sweep({ slo: { ttft: ['avg < 1'] }, stepz: 1 } as never)).rejects.toThrow(/unknown option "stepz"/)
    await expect(sweep({} as never)).rejects.toThrow(/--slo-file: an SLO is required/)
  })
})
