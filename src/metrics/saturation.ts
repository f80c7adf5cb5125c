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
/** Requests in flight growing, over the second half of the sending, by at least this share of the target rate per second. */
export const IN_FLIGHT_GROWTH = 0.05
/** ...and by at least this many requests over that half (a few requests of noise are not a trend). */
export const IN_FLIGHT_GROWTH_FLOOR = 4
/** The in-flight trend is read only once the second half of the sending starts this many median latencies in. */
export const SETTLE_LATENCIES = 3
/** In-flight samples the second half needs before the trend is read. */
export const MIN_IN_FLIGHT_SAMPLES = 8

/** Sends made below this share of the target rate: the schedule fell behind. */
export const MIN_RATE_RATIO = 0.9

/**
 * Collects (intended send time, TTFT from the intended send) of a step's successful requests and judges
 * whether the step was over-saturated:
 * - **queue growth**: the median TTFT of the last third of the sends (by intended time) is at least
 *   GROWTH_FACTOR × that of the first third and GROWTH_FLOOR_MS more, and the middle third lies between
 *   (a trend, not one slow spell);
 * - **in flight growing**: the number of requests in flight (sent, not yet answered), sampled while sending, grows
 *   over the second half of the sending (least squares) by IN_FLIGHT_GROWTH × the target rate per second or more:
 *   the server completes fewer requests than are sent (read once that half starts SETTLE_LATENCIES median latencies
 *   in, past the ramp-up). A server with a large batch shows overload here first, as
 *   slower decoding of a growing batch, long before its waiting queue and TTFT grow (Little's law: in flight =
 *   rate × latency settles when the latency does);
 * - **falling behind**: sends made per second below MIN_RATE_RATIO of the target.
 * Requests still in flight when the step is judged count too, at their age less the median decode time
 * (latency − TTFT) of the requests answered: the client sees no first token before a request ends, and a
 * request decoding is not queued, but one far older than any answered is, and a queue that never answers is
 * the clearest saturation of all.
 *
 * Kept in typed arrays (24 bytes a request), so a long open loop costs little memory.
 */
export class SaturationWatch {
  /** The trend of requests in flight over the second half of the sampling (see the class comment). */
  inFlightGrowth(): { perS: number; from: number; to: number; over: number } | null {
    // Read only past the ramp-up: the second half must start SETTLE_LATENCIES median latencies in, as in flight
    // (rate × latency) takes a few latencies to settle, longer near capacity, where the batch itself settles slowly.
    const latencies = Array.from({ length: this.n }, (_, i) => (this.ttft[i] as number) + (this.decode[i] as number))
    const settleMs = latencies.length > 0 ? SETTLE_LATENCIES * median(latencies) : Infinity
    return trend(this.inFlightT, this.inFlightN, settleMs)
  }

  private at = new Float64Array(1024)
  private ttft = new Float64Array(1024)
  private decode = new Float64Array(1024)
  private n = 0
  private readonly inFlightT: number[] = []
  private readonly inFlightN: number[] = []

  /** Requests in flight at time `t` (ms, the same timeline), sampled while the schedule sends. */
  sampleInFlight(t: number, inFlight: number): void {
    this.inFlightT.push(t)
    this.inFlightN.push(inFlight)
  }

  /** A successful request: its intended send time, TTFT from it, and its decode time (latency − TTFT), ms. */
  add(intendedAt: number, ttftFromIntendedMs: number, decodeMs = 0): void {
    if (this.n === this.at.length) {
      const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(a.length * 2)
        b.set(a)
        return b
      }
      this.at = grow(this.at)
      this.ttft = grow(this.ttft)
      this.decode = grow(this.decode)
    }
    this.at[this.n] = intendedAt
    this.ttft[this.n] = ttftFromIntendedMs
    this.decode[this.n] = decodeMs
    this.n++
  }

  /**
   * The verdict so far. `inFlight` are the intended times of sends not yet answered at `now` (same timeline);
   * `sentRate` / `targetRate` the rate made and wanted.
   */
  assess(sentRate: number, targetRate: number, inFlight: readonly number[] = [], now = 0): SaturationAssessment {
    const decode = this.n > 0 ? median(Array.from(this.decode.subarray(0, this.n))) : 0
    const order = Array.from({ length: this.n + inFlight.length }, (_, i) => i)
    const atOf = (i: number): number => (i < this.n ? (this.at[i] as number) : (inFlight[i - this.n] as number))
    const ttftOf = (i: number): number => (i < this.n ? (this.ttft[i] as number) : Math.max(0, now - (inFlight[i - this.n] as number) - decode))
    order.sort((a, b) => atOf(a) - atOf(b))
    const reasons: string[] = []
    let thirds: [number, number, number] | null = null
    const n = order.length
    if (n >= 3 * MIN_PER_THIRD) {
      const third = (k: number): number => median(order.slice(Math.floor((k * n) / 3), Math.floor(((k + 1) * n) / 3)).map(ttftOf))
      thirds = [third(0), third(1), third(2)]
      const [first, middle, last] = thirds
      if (last >= GROWTH_FACTOR * first && last - first >= GROWTH_FLOOR_MS && middle >= first && middle <= last) {
        reasons.push(`TTFT from the intended send kept growing over the step (median ${fmt(first)} → ${fmt(middle)} → ${fmt(last)} ms by thirds): requests queue faster than they are served`)
      }
    }
    const growth = this.inFlightGrowth()
    if (growth && targetRate > 0 && growth.perS >= IN_FLIGHT_GROWTH * targetRate && growth.over >= IN_FLIGHT_GROWTH_FLOOR) {
      reasons.push(`requests in flight kept growing, by ${growth.perS.toFixed(1)}/s over the second half of the sending (${growth.from.toFixed(0)} → ${growth.to.toFixed(0)}): the server completes fewer requests per second than the ${targetRate.toFixed(2)} sent`)
    }
    const rateRatio = targetRate > 0 ? sentRate / targetRate : 1
    if (rateRatio < MIN_RATE_RATIO) reasons.push(`sends made at ${sentRate.toFixed(2)}/s, ${(rateRatio * 100).toFixed(0)} % of the ${targetRate.toFixed(2)}/s wanted: the schedule fell behind`)
    return { saturated: reasons.length > 0, reasons, ttftThirdsMs: thirds, rateRatio }
  }
}

/** The least-squares trend of the in-flight samples over the second half of the time sampled; null with too few. */
function trend(t: readonly number[], n: readonly number[], settleMs: number): { perS: number; from: number; to: number; over: number } | null {
  if (t.length === 0) return null
  const start = t[0] as number
  const end = t[t.length - 1] as number
  const mid = start + (end - start) / 2
  if (mid - start < settleMs) return null
  const xs: number[] = []
  const ys: number[] = []
  for (let i = 0; i < t.length; i++) if ((t[i] as number) >= mid) { xs.push(((t[i] as number) - mid) / 1000); ys.push(n[i] as number) }
  if (xs.length < MIN_IN_FLIGHT_SAMPLES || end - mid < 500) return null
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length
  const my = ys.reduce((a, b) => a + b, 0) / ys.length
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < xs.length; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my)
    sxx += ((xs[i] as number) - mx) ** 2
  }
  if (sxx === 0) return null
  const perS = sxy / sxx
  const span = (end - mid) / 1000
  const from = my - perS * mx
  return { perS, from, to: from + perS * span, over: perS * span }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)
}
