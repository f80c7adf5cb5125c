import { monitorEventLoopDelay } from 'node:perf_hooks'

/**
 * Event-loop delay p99 above which a run's timings are not trustworthy: the client, not the
 * server, was the bottleneck. 50 ms is far above what a healthy client shows (a few ms) and
 * well below what it takes to distort TTFTs of hundreds of ms.
 */
export const SATURATION_BOUND_MS = 50

/** Watches the event loop while a run is under way. */
export interface ClientHealthMonitor {
  /** Stops watching and returns event-loop delay p99 (ms) and whether it passed the bound. */
  stop(): { eventLoopDelayP99Ms: number; saturated: boolean }
}

export function monitorClientHealth(boundMs = SATURATION_BOUND_MS): ClientHealthMonitor {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  return {
    stop() {
      histogram.disable()
      // Samples are in ns; the monitor's own resolution (10 ms) is subtracted so an idle loop reads ~0.
      const p99 = histogram.count > 0 ? Math.max(0, histogram.percentile(99) / 1e6 - 10) : 0
      return { eventLoopDelayP99Ms: p99, saturated: p99 > boundMs }
    },
  }
}
