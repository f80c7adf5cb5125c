import { describe, expect, test } from 'vitest'
import { samplesForTail, stepStanding, zOf } from '../../src/capacity/index.ts'
import { summariseRound } from '../../src/metrics/index.ts'
import { SaturationWatch } from '../../src/metrics/index.ts'
import { parseSlo } from '../../src/slo/index.ts'
import { record } from '../helpers/records.ts'

/** A round of n successful requests whose TTFTs are spread evenly over [from, to] ms. */
function round(n: number, from: number, to: number, failed = 0) {
  const records = Array.from({ length: n }, (_, i) => record({ id: `r${i}`, ttftMs: from + ((to - from) * i) / Math.max(1, n - 1), latencyMs: 1000 }))
  for (let i = 0; i < failed; i++) records.push(record({ id: `f${i}`, ok: false, ttftMs: null, error: { kind: 'http_error', message: '500' } } as never))
  return summariseRound({ label: 'Rate10.00', concurrency: 0, round: 1 }, records)
}

const rule = { minRequests: 50, ciWidth: 0.2, confidence: 0.95 }

describe('zOf', () => {
  test('is the normal quantile of a two-sided confidence', () => {
    expect(zOf(0.95)).toBeCloseTo(1.96, 2)
    expect(zOf(0.99)).toBeCloseTo(2.576, 2)
    expect(zOf(0.9)).toBeCloseTo(1.645, 2)
  })
})

describe('stepStanding', () => {
  test('is not done before the minimum number of requests, however clear the verdict', () => {
    const s = stepStanding(round(20, 10, 20), parseSlo({ ttft: ['p(50) < 1000'] }, 't'), rule)
    expect(s.done).toBe(false)
    expect(s.why).toMatch(/20 of at least 50 requests/)
    expect(s.pass).toBe(true)
  })

  test('a median far from its limit is decided; the interval brackets the median', () => {
    const s = stepStanding(round(200, 100, 200), parseSlo({ ttft: ['med < 1000'] }, 't'), rule)
    expect(s.done).toBe(true)
    const i = s.intervals[0]!
    expect(i.low!).toBeLessThan(150)
    expect(i.high!).toBeGreaterThan(150)
    expect(i.high! - i.low!).toBeLessThan(20)
    expect(i.decided).toBe(true)
  })

  test('a median at its limit is not decided and waits for a narrow interval', () => {
    // Median 150, limit 150: neither side is known; 60 samples spread 100..200 give about ±13 %.
    const wide = stepStanding(round(60, 100, 200), parseSlo({ ttft: ['p(50) < 150'] }, 't'), { ...rule, ciWidth: 0.05 })
    expect(wide.done).toBe(false)
    expect(wide.why).toMatch(/interval ±\d+ %, wider than ±3 %/)
    const narrow = stepStanding(round(60, 100, 200), parseSlo({ ttft: ['p(50) < 150'] }, 't'), { ...rule, ciWidth: 0.5 })
    expect(narrow.done).toBe(true)
  })

  test('a p(99) has no upper bound until the samples can show one, then the max is it', () => {
    expect(samplesForTail(0.99, 0.95)).toBe(368)
    const few = stepStanding(round(200, 10, 20), parseSlo({ ttft: ['p(99) < 1000'] }, 't'), rule)
    expect(few.intervals[0]!.high).toBe(Infinity)
    expect(few.done).toBe(false)
    expect(few.why).toMatch(/too few samples yet to bound it on both sides/)
    const many = stepStanding(round(400, 10, 20), parseSlo({ ttft: ['p(99) < 1000'] }, 't'), rule)
    expect(many.intervals[0]!.high).toBeLessThanOrEqual(20.1)
    expect(many.done).toBe(true)
  })

  test('a failing p(99) is decided as soon as its lower bound is past the limit', () => {
    const s = stepStanding(round(60, 500, 900), parseSlo({ ttft: ['p(99) < 100'] }, 't'), rule)
    expect(s.pass).toBe(false)
    expect(s.intervals[0]!.decided).toBe(true)
    expect(s.done).toBe(true)
  })

  test('an error rate gets a Wilson interval; a max has none and rests on the request count', () => {
    const s = stepStanding(round(95, 10, 20, 5), parseSlo({ errorRate: ['rate < 0.5'], ttft: ['max < 1000'] }, 't'), rule)
    const [rate, max] = s.intervals
    expect(rate!.value).toBeCloseTo(0.05, 5)
    expect(rate!.low!).toBeGreaterThan(0.01)
    expect(rate!.high!).toBeLessThan(0.12)
    expect(max!.low).toBeNull()
    expect(s.done).toBe(true)
  })
})

describe('SaturationWatch', () => {
  test('TTFT growing over the step is saturation; a flat one is not', () => {
    const growing = new SaturationWatch()
    const flat = new SaturationWatch()
    for (let i = 0; i < 60; i++) {
      growing.add(i * 100, 20 + i * 10)
      flat.add(i * 100, 20 + (i % 3))
    }
    const g = growing.assess(10, 10)
    expect(g.saturated).toBe(true)
    expect(g.reasons[0]).toMatch(/kept growing/)
    expect(flat.assess(10, 10).saturated).toBe(false)
  })

  test('one slow spell in the middle is not a trend', () => {
    const w = new SaturationWatch()
    for (let i = 0; i < 60; i++) w.add(i * 100, i >= 20 && i < 40 ? 900 : 20)
    expect(w.assess(10, 10).saturated).toBe(false)
  })

  test('sends behind the target rate, or requests never answered, are saturation too', () => {
    const w = new SaturationWatch()
    for (let i = 0; i < 30; i++) w.add(i * 100, 20)
    expect(w.assess(7, 10).reasons[0]).toMatch(/70 % of the 10.00\/s wanted/)
    // Thirty more sends still waiting at t = 9 s: their age so far is their TTFT.
    const waiting = Array.from({ length: 30 }, (_, i) => 3000 + i * 100)
    expect(w.assess(10, 10, waiting, 9000).saturated).toBe(true)
  })

  test('requests in flight growing over the second half, past the ramp-up, is saturation; a plateau is not', () => {
    const growing = new SaturationWatch()
    const steady = new SaturationWatch()
    for (let i = 0; i < 30; i++) {
      growing.add(i * 100, 20, 80)
      steady.add(i * 100, 20, 80)
    }
    // 10 s at 10/s: in flight settles at 1 (latency 100 ms), or grows by 2 a second (the server answers 8/s).
    for (let t = 0; t <= 10_000; t += 100) {
      growing.sampleInFlight(t, 1 + (2 * t) / 1000)
      steady.sampleInFlight(t, 1 + (t % 300 === 0 ? 1 : 0))
    }
    const g = growing.assess(10, 10)
    expect(g.saturated).toBe(true)
    expect(g.reasons.join()).toMatch(/requests in flight kept growing, by 2\.0\/s over the second half of the sending \(11 → 21\)/)
    expect(steady.assess(10, 10).saturated).toBe(false)
  })

  test('the in-flight trend is not read before the second half starts three median latencies in', () => {
    const w = new SaturationWatch()
    for (let i = 0; i < 30; i++) w.add(i * 100, 500, 1500)
    // Median latency 2 s: a 10 s sampling's second half starts at 5 s, before 6 s.
    for (let t = 0; t <= 10_000; t += 100) w.sampleInFlight(t, (4 * t) / 1000)
    expect(w.inFlightGrowth()).toBeNull()
    expect(w.assess(10, 10).saturated).toBe(false)
    for (let t = 10_100; t <= 14_000; t += 100) w.sampleInFlight(t, (4 * t) / 1000)
    expect(w.inFlightGrowth()!.perS).toBeCloseTo(4, 5)
  })
})
