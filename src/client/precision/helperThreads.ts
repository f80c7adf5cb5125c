import { readdirSync, readFileSync } from 'node:fs'
import { canLeaveIdleClass, policyName, SCHED_OTHER, setThreadPolicy, threadPolicy, threadState, TO_IDLE } from './scheduling.ts'
import type { Outcome } from './scheduling.ts'

/** Thread ids of V8's helper threads in this process (none where /proc cannot tell). */
export function v8HelperThreads(): string[] {
  try {
    return readdirSync('/proc/self/task').filter((tid) => {
      try {
        return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('V8Worker')
      } catch {
        return false // the thread has ended
      }
    })
  } catch {
    return []
  }
}

/**
 * Moves V8's helper threads (background compiler, concurrent and parallel GC) that are in the normal
 * class to SCHED_IDLE, so on a shared core they run only while the event loop has nothing to do: a
 * normal-class helper that starts its time slice while the loop waits keeps the core ~3 ms after data
 * arrives. Only where the move can be undone (canLeaveIdleClass()). Why: docs/design/precision.md.
 * @returns the ids of the threads moved (all of them back to SCHED_OTHER undoes it), or why none was
 */
export function idleHelperThreads(helpers: readonly string[] = v8HelperThreads()): Outcome<string[]> {
  if (process.platform !== 'linux') return { ok: false, reason: 'Linux only' }
  if (helpers.length === 0) return { ok: false, reason: 'none found in /proc/self/task' }
  const policies = helpers.map((tid) => {
    try {
      return threadPolicy(`/proc/self/task/${tid}/stat`)
    } catch {
      return -1 // the thread has ended
    }
  })
  const normal = helpers.filter((_, i) => policies[i] === SCHED_OTHER)
  if (normal.length === 0) {
    const chosen = policies.find((p) => p >= 0)
    return { ok: false, reason: chosen === undefined ? 'they ended' : `not tried (they run in ${policyName(chosen)}, the caller's choice)` }
  }
  if (!canLeaveIdleClass(normal[0] as string)) return { ok: false, reason: 'not tried (it could not be undone without CAP_SYS_NICE)' }
  const moved: string[] = []
  let refused: string | undefined
  for (const tid of normal) {
    const why = setThreadPolicy(tid, TO_IDLE)
    if (why === undefined) moved.push(tid)
    else refused ??= why
  }
  return moved.length > 0 ? { ok: true, value: moved } : { ok: false, reason: refused ?? 'none moved' }
}

/** How often a busy real-time loop looks at V8's helpers, and for how long it then lets one run. */
const YIELD_CHECK_MS = 10
const YIELD_MS = 1
/** Event-loop utilisation above which a YIELD_CHECK_MS window counts as busy (no idle moment). */
const BUSY_UTILISATION = 0.98
/** Busy windows in a row before the loop yields: 50 ms, longer than any burst of chunks it reads. */
const BUSY_WINDOWS_BEFORE_YIELD = 5

/** A running yieldToWaitingHelpers(), until stopped. */
export interface HelperYield {
  /** Stops looking (clears its timer). Idempotent. */
  stop(): void
}

/**
 * For a real-time event loop (realtimeEventLoop()): once the loop has been busy 50 ms without an idle
 * moment while one of `helpers` waits for the core, it blocks for YIELD_MS every YIELD_CHECK_MS while
 * that lasts, so the helper runs. Without it, a busy SCHED_FIFO loop starved V8's GC helpers until the
 * kernel's real-time throttling stopped the loop for 30 ms. Why: docs/design/precision.md.
 */
export function yieldToWaitingHelpers(helpers: readonly string[] = v8HelperThreads()): HelperYield {
  const cell = new Int32Array(new SharedArrayBuffer(4))
  const statPaths = helpers.map((tid) => `/proc/self/task/${tid}/stat`)
  let last = performance.eventLoopUtilization()
  let busyWindows = 0
  const waiting = (): boolean => statPaths.some((path) => {
    try {
      return threadState(path) === 'R'
    } catch {
      return false // the thread has ended
    }
  })
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization()
    busyWindows = performance.eventLoopUtilization(now, last).utilization > BUSY_UTILISATION ? busyWindows + 1 : 0
    last = now
    if (busyWindows >= BUSY_WINDOWS_BEFORE_YIELD && waiting()) Atomics.wait(cell, 0, 0, YIELD_MS)
  }, YIELD_CHECK_MS).unref()
  return { stop: () => clearInterval(timer) }
}
