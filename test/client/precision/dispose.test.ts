import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, test } from 'vitest'
import { enterPrecision } from '../../../src/client/precision/index.ts'
import { confinedToOneCpu } from '../../../src/client/precision/scheduling.ts'
import { AS_NOBODY, canDropPrivileges, hasChrt, hasTaskset, linux, ON_CPU_0, runNode, srcModule, tasks } from './processState.ts'
import type { TaskState } from './processState.ts'

/** What one `on` → dispose() showed: the threads before, while on, after; what it said; the loop's thread. */
interface OnRun {
  before: TaskState[]
  during: TaskState[]
  after: TaskState[]
  loop: string
  confined: boolean
  changes: string[]
  refused: string[]
  notices: string[]
  describe: string
}

const SCHED_IDLE = 5
const SCHED_FIFO = 1
const policiesOf = (states: TaskState[], comm: string): number[] => states.filter((t) => t.comm.startsWith(comm)).map((t) => t.policy)
const has = (list: string[], start: string): boolean => list.some((x) => x.startsWith(start))

/**
 * What `changes` and `refused` say agrees with /proc while on, and afterwards every thread is back as it
 * was (none added, none left in another class). Holds whether Linux permitted the changes or not.
 */
function expectConsistent(run: OnRun): void {
  const { before, during, after, changes, refused } = run
  // Whatever happened, the process is as it was.
  expect(after).toEqual(before)
  // Every change and refusal is in the CLI's line, and every refusal was told.
  for (const phrase of [...changes, ...refused]) expect(run.describe).toContain(phrase)
  expect(run.notices).toEqual(refused.map((r) => `precision: ${r}`))
  expect(run.describe).toMatch(run.confined ? /^precision on \(confined to 1 CPU\)/ : /^precision on \(\d+ CPUs\)/)
  expect(has(refused, 'thread scheduling')).toBe(!run.confined)

  const idle = changes.find((c) => c.startsWith('V8 helper threads idle-class'))
  if (idle) {
    const moved = Number(/\((\d+)\)/.exec(idle)?.[1])
    expect(moved).toBeGreaterThan(0)
    expect(policiesOf(during, 'V8Worker').filter((p) => p === SCHED_IDLE)).toHaveLength(moved)
  } else {
    expect(policiesOf(during, 'V8Worker')).toEqual(policiesOf(before, 'V8Worker'))
    expect(has(refused, 'V8 helper threads idle-class') || has(refused, 'thread scheduling')).toBe(true)
  }

  const loopBefore = before.find((t) => t.tid === run.loop)?.policy
  const loopDuring = during.find((t) => t.tid === run.loop)?.policy
  if (changes.includes('event loop SCHED_FIFO 1')) {
    expect(loopDuring).toBe(SCHED_FIFO)
  } else {
    expect(loopDuring).toBe(loopBefore)
    expect(has(refused, 'event loop SCHED_FIFO') || has(refused, 'thread scheduling')).toBe(true)
  }

  const spinners = during.filter((t) => t.comm === 'fluxperf-spin')
  if (changes.includes('a spinning idle thread')) {
    expect(spinners.map((t) => t.policy)).toEqual([SCHED_IDLE])
    expect(during).toHaveLength(before.length + 1)
    expect(changes).toContain('event loop SCHED_FIFO 1') // only beside a real-time loop
  } else {
    expect(spinners).toEqual([])
    expect(during).toHaveLength(before.length)
  }
}

/** Polls (a bounded number of turns, not a time) until the process has as many threads as `count`. */
async function threadsBackTo(count: number): Promise<void> {
  for (let i = 0; i < 1000 && tasks().length !== count; i++) await nextTurn()
}

/** Runs on → dispose() in a fresh Node under `prefix` and returns what it showed. */
function onInChild(prefix: readonly string[], env: NodeJS.ProcessEnv = {}): OnRun {
  return runNode<OnRun>(`
    import { readlinkSync } from 'node:fs'
    import { setImmediate as nextTurn } from 'node:timers/promises'
    import { enterPrecision } from ${srcModule('client/precision/index.ts')}
    import { confinedToOneCpu } from ${srcModule('client/precision/scheduling.ts')}
    const loop = readlinkSync('/proc/thread-self').split('/').at(-1)
    const before = tasks()
    const notices = []
    const precision = await enterPrecision({ mode: 'on', notice: (m) => notices.push(m) })
    const during = tasks()
    await precision.dispose()
    for (let i = 0; i < 1000 && tasks().length !== before.length; i++) await nextTurn()
    const after = tasks()
    console.log(JSON.stringify({ before, during, after, loop, confined: confinedToOneCpu(), changes: precision.changes, refused: precision.refused, notices, describe: precision.describe() }))`, prefix, env)
}

describe("precision 'on', then dispose()", () => {
  test.runIf(linux)('in this process: what it says it changed is what /proc shows, and dispose() puts every thread back', async () => {
    const before = tasks()
    const notices: string[] = []
    const precision = await enterPrecision({ mode: 'on', notice: (m) => notices.push(m) })
    const during = tasks()
    expect(precision.active).toBe(true)
    expect(precision.changes.some((c) => c.startsWith('client warmed up'))).toBe(true)
    await precision.beforeClock()
    precision.afterBurst()
    await precision.dispose()
    await precision.dispose() // idempotent
    await threadsBackTo(before.length)
    const run = { before, during, after: tasks(), loop: String(process.pid), confined: confinedToOneCpu(), changes: [...precision.changes], refused: [...precision.refused], notices, describe: precision.describe() }
    expectConsistent(run)
    expect(precision.summary()).toEqual({ mode: 'on', active: true, changes: run.changes, refused: run.refused })
  })

  test.runIf(hasTaskset && hasChrt)('confined to one CPU (taskset -c 0): threads moved where permitted, all back after dispose()', () => {
    const run = onInChild(ON_CPU_0)
    expect(run.confined).toBe(true)
    expectConsistent(run)
    if (process.getuid?.() === 0 && run.refused.length === 0) {
      // Root with CAP_SYS_NICE, as on this repository's VM: every change was made.
      expect(run.changes).toEqual(expect.arrayContaining(['event loop SCHED_FIFO 1', 'a spinning idle thread']))
    }
  })

  test.runIf(hasTaskset && hasChrt && canDropPrivileges)('confined, without privileges: refuses what it could not undo or do, says so, and changes no thread', () => {
    const run = onInChild([...AS_NOBODY, ...ON_CPU_0])
    expectConsistent(run)
    expect(run.refused).toEqual([
      'V8 helper threads idle-class: not tried (it could not be undone without CAP_SYS_NICE)',
      'event loop SCHED_FIFO: chrt refused (needs CAP_SYS_NICE)',
    ])
    expect(run.during).toEqual(run.before)
  })

  test.runIf(hasTaskset && hasChrt)('FLUXPERF_NO_REALTIME=1 keeps the loop in its class, and then nothing spins', () => {
    const run = onInChild(ON_CPU_0, { FLUXPERF_NO_REALTIME: '1' })
    expectConsistent(run)
    expect(run.refused).toContain('event loop SCHED_FIFO: not tried (FLUXPERF_NO_REALTIME=1)')
    expect(run.changes).not.toContain('a spinning idle thread')
  })

  test.runIf(hasTaskset && hasChrt && process.getuid?.() === 0)('leaves a class the caller chose (SCHED_BATCH) alone', () => {
    const run = onInChild(['chrt', '--batch', '0', ...ON_CPU_0])
    expectConsistent(run)
    expect(run.refused).toEqual(expect.arrayContaining([
      "V8 helper threads idle-class: not tried (they run in SCHED_BATCH, the caller's choice)",
      "event loop SCHED_FIFO: not tried (the loop runs in SCHED_BATCH, the caller's choice)",
    ]))
  })
})
