import { monitorEventLoopDelay } from 'node:perf_hooks'

/**
 * The client-saturation guard: how late the event loop ran while a run was under way. Every chunk that
 * arrives while the loop is late is stamped late by as much, so a late loop makes the client, not the
 * server, the figure. It is the guard wherever precision mode is off (docs/design/precision.md).
 */

/**
 * How often the monitor samples, ms: Node's finest. libuv's timers count whole milliseconds, so each
 * sample is exact to about 1 ms either way, which is what the bound below needs.
 */
export const MONITOR_RESOLUTION_MS = 1

/**
 * Event-loop delay p99 above which a run's timings are not trustworthy, ms. Inter-token gaps of real
 * servers are 10–50 ms: a loop late by 20 ms in 1 % of its moments distorts ITL p99 by a whole gap. A
 * healthy client stays far below (p99 1–2.5 ms idle on a loaded 2-core VM, 0.2 ms with
 * precision on), so the bound does not fire on an ordinary busy machine. Reasoning and figures:
 * docs/design/precision.md ("The saturation guard").
 */
export const SATURATION_BOUND_MS = 20

/** How the client itself fared over a run: part of every RunResult. */
export interface ClientHealth {
  /** Event-loop delay p99 while the run was under way, ms (the monitor's own interval subtracted, so an idle loop reads ~0). */
  eventLoopDelayP99Ms: number
  /** The longest event-loop delay seen, ms: one stall shows here even when p99 is low. */
  eventLoopDelayMaxMs: number
  /** p99 delay above which the client counts as saturated, ms. @default SATURATION_BOUND_MS (20) */
  boundMs: number
  /** True when p99 passed the bound: the client was the bottleneck and the timings are not trustworthy. */
  saturated: boolean
  /** The monitor's sampling interval, ms: figures are exact to about this much. */
  resolutionMs: number
}

/** Watches the event loop while a run is under way. */
export interface ClientHealthMonitor {
  /** Stops watching (once; later calls return the same figures) and says how the loop fared. */
  stop(): ClientHealth
}

/** Starts watching the event loop's delay (a timer every MONITOR_RESOLUTION_MS) until stop(). */
export function monitorClientHealth(boundMs = SATURATION_BOUND_MS): ClientHealthMonitor {
  if (!(boundMs > 0) || !Number.isFinite(boundMs)) throw new RangeError(`boundMs: expected a positive number of ms, got ${boundMs}`)
  const resolutionMs = MONITOR_RESOLUTION_MS
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs })
  histogram.enable()
  let health: ClientHealth | undefined
  return {
    stop() {
      if (health) return health
      histogram.disable()
      // Samples are whole intervals between the monitor's timer firings, in ns: the interval itself is
      // subtracted, and the ms rounding of libuv's timers can make one a little shorter (clamped at 0).
      const delay = (ns: number): number => (histogram.count > 0 ? Math.max(0, ns / 1e6 - resolutionMs) : 0)
      const p99 = delay(histogram.percentile(99))
      health = { eventLoopDelayP99Ms: p99, eventLoopDelayMaxMs: delay(histogram.max), boundMs, saturated: p99 > boundMs, resolutionMs }
      return health
    },
  }
}
