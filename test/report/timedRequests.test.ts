import { describe, expect, test } from 'vitest'
import { timelineOf, TimedRequestLog } from '../../src/report/html/index.ts'
import type { TimedRequest } from '../../src/report/html/index.ts'
import type { ErrorKind } from '../../src/types.ts'

const KINDS: ErrorKind[] = ['timeout', 'http_error', 'server_disconnected']

/** Requests of every shape the timeline reads: with and without TTFT, schedule and error. */
function requests(n: number): TimedRequest[] {
  return Array.from({ length: n }, (_, i) => {
    // Multiples of 1/8 ms: exact in float32 too, and some ends fall on another request's start.
    const r: TimedRequest = { startedAt: 1_764_633_600_000 + i * 0.375, latencyMs: 5 + (i % 11) * 0.125, ttftMs: i % 5 === 0 ? null : 1 + (i % 7) * 0.5, ok: i % 13 !== 0 }
    if (i % 3 === 0) r.scheduledAt = r.startedAt - (i % 4) * 0.25
    if (!r.ok && i % 2 === 0) r.error = { kind: KINDS[i % KINDS.length] as ErrorKind, message: '' }
    return r
  })
}

describe('TimedRequestLog: the timeline fields in typed arrays', () => {
  test('gives back every request as added, in order, across blocks', () => {
    // Blocks of 1,024, 2,048, 4,096, then 8,192 requests (from 7,168 on): past several full ones.
    const all = requests(40_000)
    const log = new TimedRequestLog()
    for (const r of all) log.add(r)
    expect(log.size).toBe(40_000)
    const back = [...log]
    expect(back).toHaveLength(40_000)
    for (const i of [0, 1, 1_023, 1_024, 3_071, 3_072, 7_167, 7_168, 15_359, 15_360, 39_999]) expect(back[i], `request ${i}`).toEqual(all[i])
    expect(back).toEqual(all)
    // forEach (what the timeline reads) walks the same blocks.
    const starts: number[] = []
    log.forEach((startedAt) => starts.push(startedAt))
    expect(starts).toEqual(all.map((r) => r.startedAt))
  })

  test('a down-sampled timeline keeps each bucket\'s exact peak in flight and TTFT extremes', () => {
    const all = requests(30_000)
    const t = timelineOf(TimedRequestLog.from(all), 1_000)!
    const want = bucketedByHand(all, 500)
    expect(t.downsampled).toBe(true)
    expect(t.inFlight).toEqual(want.inFlight)
    expect(t.ttft).toEqual(want.ttft)
    expect(t.lag).toEqual(want.lag)
    expect(t.requests).toBe(30_000)
    expect(Object.values(t.errors.byKind).flat().reduce((a, b) => a + b, 0)).toBe(all.filter((r) => !r.ok).length)
  })

  test('latency and TTFT come back as float32: within a millionth', () => {
    const log = TimedRequestLog.from([{ startedAt: 1_764_633_600_123.456, latencyMs: 12_345.678_9, ttftMs: 0.123_456_789, ok: true }])
    const [back] = [...log]
    expect(back!.startedAt).toBe(1_764_633_600_123.456)
    expect(back!.latencyMs).not.toBe(12_345.678_9)
    expect(Math.abs(back!.latencyMs / 12_345.678_9 - 1)).toBeLessThan(1e-6)
    expect(Math.abs(back!.ttftMs! / 0.123_456_789 - 1)).toBeLessThan(1e-6)
  })

  test('a failed request without an error object stays failed, with no kind', () => {
    const log = new TimedRequestLog()
    log.add({ startedAt: 1, latencyMs: 2, ttftMs: null, ok: false })
    expect([...log]).toEqual([{ startedAt: 1, latencyMs: 2, ttftMs: null, ok: false }])
  })
})

/** The down-sampled series worked out the slow way: every event sorted as objects, buckets filled one by one. */
function bucketedByHand(all: TimedRequest[], buckets: number) {
  const t0 = Math.min(...all.map((r) => r.startedAt))
  const span = Math.max(...all.map((r) => r.startedAt + r.latencyMs)) - t0
  const bucketOf = (at: number): number => Math.min(buckets - 1, Math.max(0, Math.floor(((at - t0) / span) * buckets)))
  const startOf = (b: number): number => (b * span) / buckets / 1000
  // Ends sort before starts at one instant.
  const events = all.flatMap((r) => [{ at: r.startedAt, step: 1 }, { at: r.startedAt + r.latencyMs, step: -1 }]).sort((a, b) => a.at - b.at || a.step - b.step)
  const peaks = new Map<number, number>()
  let current = 0
  for (const e of events) {
    current += e.step
    const b = bucketOf(e.at)
    peaks.set(b, Math.max(peaks.get(b) ?? -Infinity, current))
  }
  const envelope = (points: { at: number; value: number }[]) => {
    const low = new Map<number, number>()
    const high = new Map<number, number>()
    for (const p of points) {
      const b = bucketOf(p.at)
      low.set(b, Math.min(low.get(b) ?? Infinity, p.value))
      high.set(b, Math.max(high.get(b) ?? -Infinity, p.value))
    }
    const t: number[] = []
    const ms: number[] = []
    for (const b of [...low.keys()].sort((x, y) => x - y)) {
      t.push(startOf(b))
      ms.push(low.get(b)!)
      if (high.get(b) !== low.get(b)) {
        t.push(startOf(b))
        ms.push(high.get(b)!)
      }
    }
    return { t, ms }
  }
  const inFlightBuckets = [...peaks.keys()].sort((x, y) => x - y)
  return {
    inFlight: { t: inFlightBuckets.map(startOf), n: inFlightBuckets.map((b) => peaks.get(b)!) },
    ttft: envelope(all.filter((r) => r.ttftMs !== null).map((r) => ({ at: r.startedAt, value: r.ttftMs! }))),
    lag: envelope(all.filter((r) => r.scheduledAt !== undefined).map((r) => ({ at: r.scheduledAt!, value: r.startedAt - r.scheduledAt! }))),
  }
}
