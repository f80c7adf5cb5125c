import type { Clock } from '../../src/schedule/index.ts'

/** A clock that only moves when told to: sleeps resolve when `advance` passes their time. */
export function manualClock(): Clock & { advance(to: number): Promise<void>; sleeping(): number } {
  let now = 0
  const sleepers: { at: number; resolve: () => void }[] = []
  const flush = (): void => {
    for (let i = sleepers.length - 1; i >= 0; i--) {
      const s = sleepers[i] as { at: number; resolve: () => void }
      if (s.at <= now) {
        sleepers.splice(i, 1)
        s.resolve()
      }
    }
  }
  return {
    now: () => now,
    sleepUntil(at, signal) {
      return new Promise((resolve) => {
        if (at <= now || signal?.aborted) return resolve()
        sleepers.push({ at, resolve })
        signal?.addEventListener('abort', () => resolve(), { once: true })
      })
    },
    async advance(to) {
      now = to
      flush()
      // Let the woken schedule run up to its next sleep.
      for (let i = 0; i < 20; i++) await Promise.resolve()
    },
    sleeping: () => sleepers.length,
  }
}
