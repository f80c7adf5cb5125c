/**
 * Over-saturation of an open-loop step: the server (or the client) cannot keep up with the target rate,
 * so the queue, and with it the time from the intended send to the first token, grows without bound for
 * as long as the step lasts. A step like that has no steady-state percentile to report: it fails, and a
 * capacity search goes no higher. Rule and reasoning: docs/design/capacity.md.
 */

import type { SaturationSummary } from '../types.ts'

/** The growth rule's verdict on one step (the shape results keep). */
export type SaturationAssessment = SaturationSummary

/** Successful requests needed (per third) before the growth rule says anything. */
export const MIN_PER_THIRD = 5
/** The last third's median TTFT at least this many times the first third's is growth. */
export const GROWTH_FACTOR = 2
/** ...and at least this much longer, ms, so a 3 ms TTFT becoming 7 ms is not called saturation. */
export const GROWTH_FLOOR_MS = 50
/** Sends made below this share of the target rate: the schedule fell behind. */
export const MIN_RATE_RATIO = 0.9

/**
 * Collects (intended send time, TTFT from the intended send) of a step's successful requests and judges
 * whether the step was over-saturated:
 * - **queue growth**: the median TTFT of the last third of the sends (by intended time) is at least
 *   GROWTH_FACTOR × that of the first third and GROWTH_FLOOR_MS more, and the middle third lies between
 *   (a trend, not one slow spell);
 * - **falling behind**: sends made per second below MIN_RATE_RATIO of the target.
 * Requests still waiting when the step is judged count at their age so far: a queue that never answers
 * is the clearest saturation of all.
 */
export class SaturationWatch {
  private readonly points: { at: number; ttft: number }[] = []

  /** A successful request: its intended send time and TTFT from it, ms (any common timeline). */
  add(intendedAt: number, ttftFromIntendedMs: number): void {
    this.points.push({ at: intendedAt, ttft: ttftFromIntendedMs })
  }

  /**
   * The verdict so far. `waiting` are the intended times of sends still without a first token at `now`
   * (same timeline), counted at their age; `sentRate` / `targetRate` the rate made and wanted.
   */
  assess(sentRate: number, targetRate: number, waiting: readonly number[] = [], now = 0): SaturationAssessment {
    const points = waiting.length === 0 ? this.points : [...this.points, ...waiting.map((at) => ({ at, ttft: now - at }))]
    const sorted = [...points].sort((a, b) => a.at - b.at)
    const reasons: string[] = []
    let thirds: [number, number, number] | null = null
    if (sorted.length >= 3 * MIN_PER_THIRD) {
      const n = sorted.length
      const third = (k: number): number => median(sorted.slice(Math.floor((k * n) / 3), Math.floor(((k + 1) * n) / 3)).map((p) => p.ttft))
      thirds = [third(0), third(1), third(2)]
      const [first, middle, last] = thirds
      if (last >= GROWTH_FACTOR * first && last - first >= GROWTH_FLOOR_MS && middle >= first && middle <= last) {
        reasons.push(`TTFT from the intended send kept growing over the step (median ${fmt(first)} → ${fmt(middle)} → ${fmt(last)} ms by thirds): requests queue faster than they are served`)
      }
    }
    const rateRatio = targetRate > 0 ? sentRate / targetRate : 1
    if (rateRatio < MIN_RATE_RATIO) reasons.push(`sends made at ${sentRate.toFixed(2)}/s, ${(rateRatio * 100).toFixed(0)} % of the ${targetRate.toFixed(2)}/s wanted: the schedule fell behind`)
    return { saturated: reasons.length > 0, reasons, ttftThirdsMs: thirds, rateRatio }
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)
}
