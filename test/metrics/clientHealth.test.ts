import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, test } from 'vitest'
import { MONITOR_RESOLUTION_MS, monitorClientHealth, SATURATION_BOUND_MS } from '../../src/metrics/index.ts'

/** Keeps the event loop busy for `ms` (no timer, no I/O can run meanwhile). */
function blockLoop(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // busy
  }
}

describe('monitorClientHealth', () => {
  test('a loop blocked 200 ms at a time is saturated: p99 and max show the block', async () => {
    const monitor = monitorClientHealth()
    // Each wait lets the monitor's 1 ms timer fire (it is due before ours), so every block is one
    // sample of at least 200 ms among at most a few idle ones: well over 1 % of the samples.
    for (let i = 0; i < 3; i++) {
      await sleep(5)
      blockLoop(200)
    }
    await sleep(5)
    const health = monitor.stop()
    expect(health.saturated).toBe(true)
    expect(health.eventLoopDelayP99Ms).toBeGreaterThan(SATURATION_BOUND_MS)
    expect(health.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(190)
    expect(health.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(health.eventLoopDelayP99Ms)
    expect(health).toMatchObject({ boundMs: SATURATION_BOUND_MS, resolutionMs: MONITOR_RESOLUTION_MS })
  })

  test('an idle short watch reports finite, non-negative figures; stop() is idempotent', async () => {
    const monitor = monitorClientHealth()
    await sleep(20)
    const health = monitor.stop()
    for (const figure of [health.eventLoopDelayP99Ms, health.eventLoopDelayMaxMs]) {
      expect(Number.isFinite(figure)).toBe(true)
      expect(figure).toBeGreaterThanOrEqual(0)
    }
    expect(health.saturated).toBe(health.eventLoopDelayP99Ms > health.boundMs)
    expect(monitor.stop()).toBe(health)
  })

  test('stopped before any sample, it reports zero delay, not NaN', () => {
    expect(monitorClientHealth().stop()).toMatchObject({ eventLoopDelayP99Ms: 0, eventLoopDelayMaxMs: 0, saturated: false })
  })

  test('takes a bound of its own, and rejects one that is not a positive number', () => {
    expect(monitorClientHealth(500).stop().boundMs).toBe(500)
    expect(() => monitorClientHealth(0)).toThrow(RangeError)
    expect(() => monitorClientHealth(Number.NaN)).toThrow(RangeError)
  })
})
