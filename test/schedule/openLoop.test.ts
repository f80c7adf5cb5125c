import { describe, expect, test } from 'vitest'
import { createRandom } from '../../src/random.ts'
import { arrivalOffsets, epochTie, gammaSample, runOpenLoop, systemClock } from '../../src/schedule/index.ts'
import type { Arrival, Clock } from '../../src/schedule/index.ts'
import { manualClock } from '../helpers/clock.ts'

/** A clock whose sleeps return at once and move time to their target (a run in zero wall time). */
function virtualClock(lateByMs = 0): Clock {
  let now = 0
  return {
    now: () => now,
    async sleepUntil(at) {
      now = Math.max(now, at + lateByMs)
    },
  }
}

const take = (it: Iterator<number>, n: number): number[] => Array.from({ length: n }, () => it.next().value as number)

describe('arrival offsets', () => {
  test('constant: exactly k / rate, computed (not accumulated) so there is no drift', () => {
    const offsets = take(arrivalOffsets({ rate: 5 }, createRandom(1)), 10_001)
    expect(offsets.slice(0, 4)).toEqual([0, 200, 400, 600])
    expect(offsets[10_000]).toBe(2_000_000)
  })

  test('poisson: seeded, repeatable, mean gap 1 / rate', () => {
    const a = take(arrivalOffsets({ rate: 4, process: 'poisson' }, createRandom(7)), 20_001)
    const b = take(arrivalOffsets({ rate: 4, process: 'poisson' }, createRandom(7)), 20_001)
    expect(a).toEqual(b)
    expect(a[0]).toBe(0)
    const meanGap = (a[20_000] as number) / 20_000
    expect(meanGap).toBeGreaterThan(240)
    expect(meanGap).toBeLessThan(260)
    // Exponential gaps: coefficient of variation ≈ 1.
    const gaps = a.slice(1).map((t, i) => t - (a[i] as number))
    expect(cv(gaps)).toBeGreaterThan(0.9)
    expect(cv(gaps)).toBeLessThan(1.1)
  })

  test('gamma: mean gap 1 / rate whatever the burstiness; burstiness < 1 is burstier, > 1 more regular', () => {
    for (const [k, lo, hi] of [[0.25, 1.8, 2.2], [1, 0.9, 1.1], [4, 0.45, 0.55]] as const) {
      const t = take(arrivalOffsets({ rate: 10, process: 'gamma', burstiness: k }, createRandom(3)), 20_001)
      expect((t[20_000] as number) / 20_000).toBeGreaterThan(95)
      expect((t[20_000] as number) / 20_000).toBeLessThan(105)
      const gaps = t.slice(1).map((x, i) => x - (t[i] as number))
      // CV of a gamma with shape k is 1 / sqrt(k).
      expect(cv(gaps)).toBeGreaterThan(lo)
      expect(cv(gaps)).toBeLessThan(hi)
    }
  })

  test('gammaSample has mean shape × scale', () => {
    const r = createRandom(11)
    const n = 20_000
    let sum = 0
    for (let i = 0; i < n; i++) sum += gammaSample(2.5, 3, r)
    expect(sum / n).toBeGreaterThan(7.2)
    expect(sum / n).toBeLessThan(7.8)
  })

  test('a rate that is not positive is refused', () => {
    expect(() => arrivalOffsets({ rate: 0 }, createRandom(1)).next()).toThrow(/rate/)
  })
})

describe('runOpenLoop', () => {
  test('fires at every intended time within the duration, anchored to the start (no drift)', async () => {
    const fired: Arrival[] = []
    const run = await runOpenLoop({ offsets: arrivalOffsets({ rate: 5 }, createRandom(1)), durationMs: 20_000, clock: virtualClock(), onArrival: (a) => fired.push(a) })
    expect(run).toEqual({ startAt: 0, fired: 100, stopped: false })
    expect(fired.map((a) => a.intendedAt)).toEqual(Array.from({ length: 100 }, (_, k) => k * 200))
    expect(fired.every((a) => a.firedAt === a.intendedAt)).toBe(true)
    expect(fired.map((a) => a.index)).toEqual(Array.from({ length: 100 }, (_, k) => k))
  })

  test('a timer that wakes late does not push later arrivals back: lateness never accumulates', async () => {
    const fired: Arrival[] = []
    await runOpenLoop({ offsets: arrivalOffsets({ rate: 10 }, createRandom(1)), durationMs: 1000, clock: virtualClock(7), onArrival: (a) => fired.push(a) })
    expect(fired).toHaveLength(10)
    expect(fired.map((a) => a.intendedAt)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900])
    // Each wake-up is 7 ms late, and only 7 ms: aimed at the absolute time, not at "previous + gap".
    for (const a of fired.slice(1)) expect(a.firedAt - a.intendedAt).toBe(7)
  })

  test('an arrival whose time has passed fires at once, its lag visible', async () => {
    const clock = manualClock()
    const fired: Arrival[] = []
    const done = runOpenLoop({ offsets: [0, 100, 200, 300], clock, onArrival: (a) => fired.push(a) })
    await clock.advance(0)
    expect(fired).toHaveLength(1)
    await clock.advance(250) // the event loop was blocked past two intended times
    expect(fired.map((a) => [a.intendedAt, a.firedAt])).toEqual([[0, 0], [100, 250], [200, 250]])
    await clock.advance(300)
    await done
    expect(fired).toHaveLength(4)
  })

  test('stops at the abort: nothing fires after it', async () => {
    const clock = manualClock()
    const controller = new AbortController()
    const fired: number[] = []
    const done = runOpenLoop({ offsets: arrivalOffsets({ rate: 10 }, createRandom(1)), clock, signal: controller.signal, onArrival: (a) => fired.push(a.intendedAt) })
    await clock.advance(0)
    await clock.advance(250)
    controller.abort()
    const run = await done
    expect(run.stopped).toBe(true)
    expect(fired).toEqual([0, 100, 200])
  })
})

function cv(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length
  return Math.sqrt(variance) / mean
}

describe('epochTie', () => {
  test('the system clock maps to epoch ms on the basis request records are stamped with, not the wall clock', () => {
    const toEpoch = epochTie(systemClock)
    const at = performance.now()
    expect(toEpoch(at)).toBe(performance.timeOrigin + at)
    expect(toEpoch(at + 250) - toEpoch(at)).toBe(250)
  })

  test('a clock without epochAt is tied to the wall clock once, at its present time', () => {
    const clock = virtualClock()
    const before = Date.now()
    const toEpoch = epochTie(clock)
    const after = Date.now()
    expect(toEpoch(0)).toBeGreaterThanOrEqual(before)
    expect(toEpoch(0)).toBeLessThanOrEqual(after)
    expect(toEpoch(1_500) - toEpoch(0)).toBe(1_500)
  })
})
