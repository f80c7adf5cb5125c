import { readdirSync, readFileSync } from 'node:fs'
import { canLeaveIdleClass, policyName, SCHED_OTHER, setThreadPolicy, threadPolicy, threadState, TO_FIFO, TO_IDLE, TO_OTHER } from './scheduling.ts'
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

/**
 * Saturated this many YIELD_CHECK_MS windows in a row (200 ms), the loop gives V8's helpers the normal class back
 * and leaves the real-time class itself, until it is calm again: a client that has no idle moment starved its own
 * concurrent collector and compiler, and ran 25 % fewer requests a second (1,000,000 one-token requests through
 * `fluxperf run`: 27,000/s against 36,000–40,000/s). Why: docs/design/precision.md.
 */
const BUSY_WINDOWS_BEFORE_BACK_OFF = 20
/** Windows in a row below CALM_UTILISATION before precision's classes are taken again (100 ms). */
const CALM_WINDOWS_BEFORE_RESTORE = 10
const CALM_UTILISATION = 0.9

/** What precision mode moved, to give back while the loop is saturated. */
export interface SaturationBackOff {
  /** Helper threads moved to SCHED_IDLE (idleHelperThreads()). */
  idleHelpers: readonly string[]
  /** The event loop's thread when it was made SCHED_FIFO (realtimeEventLoop()). */
  realtimeLoop?: string
}

/** A running yieldToWaitingHelpers(), until stopped. */
export interface HelperYield {
  /** Stops looking (clears its timer). Idempotent. */
  stop(): void
  /** How many times the classes were given back because the loop stayed saturated. */
  backOffs(): number
  /**
   * Runs `work` with the threads it watches in their normal classes, as before precision mode moved them (a
   * warm-up needs V8's compiler threads while the loop is busy), then moves them back and watches afresh. Not
   * counted as a back-off.
   */
  withNormalClasses<T>(work: () => Promise<T>): Promise<T>
}

/**
 * For a busy event loop and the threads precision mode moved. Every YIELD_CHECK_MS it reads the loop's
 * utilisation:
 * - a real-time loop busy 50 ms without an idle moment, while one of `helpers` waits for the core, blocks for
 *   YIELD_MS, so the helper runs. Without it, a busy SCHED_FIFO loop starved V8's GC helpers until the kernel's
 *   real-time throttling stopped the loop for 30 ms;
 * - a loop busy 200 ms (the client is saturated: its timings are not what precision mode is for) gives `backOff`'s
 *   threads the normal class back, and takes them again once the loop has been calm for 100 ms.
 * Why: docs/design/precision.md.
 */
export function yieldToWaitingHelpers(helpers: readonly string[] = v8HelperThreads(), backOff?: SaturationBackOff): HelperYield {
  const cell = new Int32Array(new SharedArrayBuffer(4))
  const statPaths = helpers.map((tid) => `/proc/self/task/${tid}/stat`)
  let last = performance.eventLoopUtilization()
  let busyWindows = 0
  let calmWindows = 0
  let backedOff = false
  let backOffs = 0
  let held = false
  const waiting = (): boolean => statPaths.some((path) => {
    try {
      return threadState(path) === 'R'
    } catch {
      return false // the thread has ended
    }
  })
  const move = (idle: readonly string[], idlePolicy: readonly string[], loopPolicy: readonly string[]): void => {
    for (const tid of idle) setThreadPolicy(tid, idlePolicy)
    if (backOff?.realtimeLoop) setThreadPolicy(backOff.realtimeLoop, loopPolicy)
  }
  const timer = setInterval(() => {
    if (held) return
    const now = performance.eventLoopUtilization()
    const utilisation = performance.eventLoopUtilization(now, last).utilization
    last = now
    if (backedOff) {
      calmWindows = utilisation < CALM_UTILISATION ? calmWindows + 1 : 0
      if (calmWindows < CALM_WINDOWS_BEFORE_RESTORE) return
      move(backOff?.idleHelpers ?? [], TO_IDLE, TO_FIFO)
      backedOff = false
      busyWindows = 0
      last = performance.eventLoopUtilization()
      return
    }
    busyWindows = utilisation > BUSY_UTILISATION ? busyWindows + 1 : 0
    if (backOff && busyWindows >= BUSY_WINDOWS_BEFORE_BACK_OFF) {
      move(backOff.idleHelpers, TO_OTHER, TO_OTHER)
      backedOff = true
      calmWindows = 0
      backOffs++
      // The moves (a chrt each) took the loop's time: the next window starts after them.
      last = performance.eventLoopUtilization()
      return
    }
    // Only a real-time loop starves the helpers in short busy stretches (a normal one shares the core).
    const realtime = backOff === undefined || backOff.realtimeLoop !== undefined
    if (realtime && busyWindows >= BUSY_WINDOWS_BEFORE_YIELD && waiting()) Atomics.wait(cell, 0, 0, YIELD_MS)
  }, YIELD_CHECK_MS).unref()
  return {
    stop: () => clearInterval(timer),
    backOffs: () => backOffs,
    async withNormalClasses(work) {
      held = true
      if (!backedOff) move(backOff?.idleHelpers ?? [], TO_OTHER, TO_OTHER)
      try {
        return await work()
      } finally {
        move(backOff?.idleHelpers ?? [], TO_IDLE, TO_FIFO)
        backedOff = false
        busyWindows = 0
        last = performance.eventLoopUtilization()
        held = false
      }
    },
  }
}
