import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { setFlagsFromString } from 'node:v8'
import type { ApiKind } from '../openai.ts'
import type { RequestContext } from '../request.ts'
import type { PrecisionSummary } from '../../types.ts'
import { collectGarbageIfGrown, collectGarbageNow, promoteYoungObjects } from './heap.ts'
import { idleHelperThreads, v8HelperThreads, yieldToWaitingHelpers } from './helperThreads.ts'
import type { HelperYield } from './helperThreads.ts'
import { confinedToOneCpu, realtimeEventLoop, setThreadPolicy, TO_OTHER } from './scheduling.ts'
import { keepCpuAwake } from './spinner.ts'
import { TURBOFAN_AFTER_CALLS, turbofanThresholdFlags } from './v8Flags.ts'
import { warmUpClient } from './warmUp.ts'

/**
 * Precision mode: every change fluxperf makes to its own process for exact timestamps, behind one seam,
 * made only when asked and undone by dispose(). What each change does and why: docs/design/precision.md.
 */

/** `off`: change nothing (the library's and Vitest's default); `on`: tune; `auto`: on where the process is confined to one CPU (the CLI's default). */
export type PrecisionMode = 'off' | 'auto' | 'on'

export interface PrecisionOptions {
  mode: PrecisionMode
  /** The run's request context: the warm-up's requests copy its shape (warmUp.ts). @default a context of fluxperf's own */
  context?: RequestContext
  /** The API the warm-up speaks when no context is given. @default 'chat' */
  kind?: ApiKind
  /** Hears each change that was refused or failed (also listed in `refused`). */
  notice?: (message: string) => void
}

/** A precision mode entered: what it changed, its moments, and the undoing of it. */
export interface Precision {
  /** The mode as asked. */
  readonly mode: PrecisionMode
  /** Whether it tunes the process: `on`, or `auto` in a process confined to one CPU. */
  readonly active: boolean
  /** What it changed, in short phrases ('V8 helper threads idle-class (4)', 'client warmed up (0.31 s)'). */
  readonly changes: readonly string[]
  /** What it tried and could not, with the reason ('event loop SCHED_FIFO: chrt refused (needs CAP_SYS_NICE)'); also what dispose() could not undo. */
  readonly refused: readonly string[]
  /** True when its warm-up of the client went through (false when off, or when the warm-up failed). */
  readonly warmedUp: boolean
  /**
   * Just before the clock starts (when active): a full collection if the heap grew by 32 MB or more since
   * enterPrecision() collected, and then the warm-up again, because that collection throws away the code the
   * warm-up optimised (docs/design/precision.md, "A collection throws the warm-up away").
   */
  beforeClock(): Promise<void>
  /** Right after a burst of sends: young objects promoted (when active). */
  afterBurst(): void
  /** One line for the CLI: 'precision on (confined to 1 CPU): changed …; could not: …', or 'precision off'. */
  describe(): string
  /** For the RunResult. */
  summary(): PrecisionSummary
  /** Undoes every process-wide change (the last Precision of the process to dispose does). Idempotent. */
  dispose(): Promise<void>
}

/** The process-wide changes, made once and shared by every Precision active at the same time. */
interface Tuning {
  changes: string[]
  refused: string[]
  /** Its warm-up of the client went through. */
  warmedUp: boolean
  /** How many times the thread classes were given back while the loop was saturated. */
  backOffs(): number
  /** The client's warm-up again (after a collection), with the threads precision moved in their normal classes meanwhile. */
  warmAgain(options: PrecisionOptions): Promise<WarmOutcome>
  /** Undoes the changes, last first; returns what could not be undone. */
  undo(): Promise<string[]>
}

let held: { tuning: Promise<Tuning>; users: number } | undefined
/** An undo under way: the next tuning waits for it, so it finds the process as it was. */
let undoing: Promise<unknown> = Promise.resolve()

/**
 * Enters precision mode `options.mode`. With `off`, or `auto` in a process that may use several CPUs,
 * nothing in the process changes and every method is a no-op. Otherwise: V8 optimises sooner, the client
 * is warmed up over loopback after a full collection, collections are forced at beforeClock()/afterBurst(), and, confined to one
 * CPU, V8's helper threads go to the idle class and the event loop to the real-time class with a spinning
 * idle thread, where Linux permits. Refusals are in `refused` and told to `notice`, never silent.
 */
export async function enterPrecision(options: PrecisionOptions): Promise<Precision> {
  const { mode, notice } = options
  if (mode !== 'off' && mode !== 'auto' && mode !== 'on') throw new RangeError(`precision: expected 'off', 'auto' or 'on', got ${JSON.stringify(mode)}`)
  const cpus = availableParallelism()
  const confined = confinedToOneCpu()
  if (mode === 'off' || (mode === 'auto' && !confined)) return inactive(mode, cpus)
  const mine = (held ??= { tuning: undoing.then(() => tune(options, confined, cpus)), users: 0 })
  mine.users++
  let tuning: Tuning
  try {
    tuning = await mine.tuning
  } catch (error) {
    // Not expected (a refusal is not an error); the next call starts afresh.
    if (--mine.users === 0 && held === mine) held = undefined
    throw error
  }
  const changes = [...tuning.changes]
  const refused = [...tuning.refused]
  for (const reason of refused) notice?.(`precision: ${reason}`)
  let disposed: Promise<void> | undefined
  let warmedUp = tuning.warmedUp
  const where = `${mode === 'auto' ? 'auto: ' : ''}${confined ? 'confined to 1 CPU' : `${cpus} CPUs`}`
  return {
    mode,
    active: true,
    changes,
    refused,
    get warmedUp() {
      return warmedUp
    },
    async beforeClock() {
      if (disposed || !collectGarbageIfGrown()) return
      const warm = await tuning.warmAgain(options)
      warmedUp = warm.ok
      if (warm.ok) changes.push(`client warmed up again after a collection before the clock (${warm.seconds.toFixed(2)} s)`)
      else {
        refused.push(`warm-up after a collection before the clock failed: ${warm.reason}`)
        notice?.(`precision: ${refused.at(-1)}`)
      }
    },
    afterBurst: () => void (disposed || promoteYoungObjects()),
    describe: () => `precision on (${where}): changed ${changes.join(', ') || 'nothing'}${refused.length > 0 ? `; could not: ${refused.join('; ')}` : ''}`,
    summary: () => {
      const backOffs = tuning.backOffs()
      return { mode, active: true, changes: [...changes], refused: [...refused], ...(backOffs > 0 ? { saturationBackOffs: backOffs } : {}) }
    },
    dispose: () => (disposed ??= (async () => {
      if (--mine.users > 0) return
      if (held === mine) held = undefined
      const undone = tuning.undo()
      undoing = undone
      for (const reason of await undone) {
        refused.push(reason)
        notice?.(`precision: ${reason}`)
      }
    })()),
  }
}

function inactive(mode: PrecisionMode, cpus: number): Precision {
  const line = mode === 'off' ? 'precision off' : `precision off (auto: the process may use ${cpus} CPUs; confined to one, e.g. taskset -c 0, it turns on)`
  return {
    mode,
    active: false,
    changes: [],
    refused: [],
    warmedUp: false,
    beforeClock: async () => {},
    afterBurst: () => {},
    describe: () => line,
    summary: () => ({ mode, active: false, changes: [], refused: [] }),
    dispose: async () => {},
  }
}

/** Makes the process-wide changes; never throws (a failure is a refusal). */
async function tune(options: PrecisionOptions, confined: boolean, cpus: number): Promise<Tuning> {
  const changes: string[] = []
  const refused: string[] = []
  /** Each undoes one change and returns what it could not undo. */
  const undos: (() => Promise<string | undefined> | string | undefined | void)[] = []
  /** Yields to waiting helpers in short busy stretches, and gives the classes back while the client is saturated. */
  let watch: HelperYield | undefined

  const flags = turbofanThresholdFlags(process.execArgv, process.env['NODE_OPTIONS'])
  if (flags) {
    setFlagsFromString(flags.set)
    changes.push(`V8 optimises after ${TURBOFAN_AFTER_CALLS} calls`)
    undos.push(() => void setFlagsFromString(flags.restore))
  }
  // The caller's garbage (the tokenizer's, an earlier run's) collected now, before the warm-up, not among the
  // first tokens. The warm-up runs after every such collection, in every run of the process: a full collection
  // throws away optimised code that embeds objects which died since it was compiled (docs/design/precision.md).
  if (collectGarbageNow()) changes.push('collections forced before the warm-up and after bursts')
  else refused.push('forced collections: the runtime refused --expose-gc')
  const warm = await warmAfterCollection(options)
  if (warm.ok) changes.push(`client warmed up (${warm.seconds.toFixed(2)} s)`)
  else refused.push(`warm-up failed: ${warm.reason}`)

  if (!confined) {
    refused.push(`thread scheduling: left alone, the process may use ${cpus} CPUs (confine it to one, e.g. taskset -c 0)`)
  } else {
    const helpers = v8HelperThreads()
    const idle = idleHelperThreads(helpers)
    if (idle.ok) {
      changes.push(`V8 helper threads idle-class (${idle.value.length})`)
      undos.push(() => backToNormal('V8 helper threads', idle.value))
    } else {
      refused.push(`V8 helper threads idle-class: ${idle.reason}`)
    }
    const loop = realtimeEventLoop()
    if (idle.ok || loop.ok) watch = yieldToWaitingHelpers(helpers, { idleHelpers: idle.ok ? idle.value : [], ...(loop.ok ? { realtimeLoop: loop.value } : {}) })
    if (loop.ok) {
      changes.push('event loop SCHED_FIFO 1')
      undos.push(() => backToNormal('event loop', [loop.value]))
      const spinner = await keepCpuAwake()
      if (spinner.ok) {
        changes.push('a spinning idle thread')
        undos.push(async () => ((await spinner.value.stop()) ? undefined : `the spinning thread (${spinner.value.tid}) still runs after being stopped`))
      } else {
        refused.push(`a spinning idle thread: ${spinner.reason}`)
      }
    } else {
      refused.push(`event loop SCHED_FIFO: ${loop.reason}`)
    }
  }

  // Stopped first (undos run last first): nothing moves a thread again once the undoing starts.
  if (watch) undos.push(() => watch.stop())
  return {
    changes,
    refused,
    warmedUp: warm.ok,
    backOffs: () => watch?.backOffs() ?? 0,
    // As the first warm-up ran: before V8's helpers and the loop changed class.
    warmAgain: (again) => (watch ? watch.withNormalClasses(() => warmAfterCollection(again)) : warmAfterCollection(again)),
    async undo() {
      const failed: string[] = []
      for (const undo of undos.reverse()) {
        const reason = await undo()
        if (typeof reason === 'string') failed.push(reason)
      }
      return failed
    },
  }
}

/** The client's warm-up (warmUp.ts) with the run's context; a failure is a reason, never a throw. */
type WarmOutcome = { ok: true; seconds: number } | { ok: false; reason: string }

async function warmAfterCollection(options: PrecisionOptions): Promise<WarmOutcome> {
  try {
    return { ok: true, seconds: (await warmUpClient(options.kind ?? 'chat', options.context)).seconds }
  } catch (error) {
    return { ok: false, reason: (error as Error).message }
  }
}

/** Moves threads back to SCHED_OTHER (those that ended need nothing); what could not be, or undefined. */
function backToNormal(what: string, tids: readonly string[]): string | undefined {
  let failed = 0
  let reason: string | undefined
  for (const tid of tids) {
    const why = setThreadPolicy(tid, TO_OTHER)
    if (why === undefined || ended(tid)) continue
    failed++
    reason ??= why
  }
  return reason === undefined ? undefined : `${what} back to SCHED_OTHER: ${failed} of ${tids.length} not moved, ${reason}`
}

function ended(tid: string): boolean {
  return !existsSync(`/proc/self/task/${tid}`)
}
