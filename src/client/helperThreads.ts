import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

/**
 * Moves V8's helper threads (background compiler, concurrent and parallel GC) to Linux's SCHED_IDLE
 * class, so they run only while the event loop has nothing to do.
 *
 * Why: on a client pinned to one core, a helper that starts its time slice while the loop waits for
 * data keeps the core until the slice ends: Linux's scheduler (EEVDF, run to parity) lets a woken
 * thread preempt it only then, about 3 ms later (seen with `perf sched`: main thread woken, a
 * V8Worker compiling for 2.9 ms, every chunk meanwhile stamped late). A SCHED_IDLE thread is
 * preempted as soon as the loop wakes. Work the loop waits for (a scavenge it joins) still runs at
 * once, since the loop then sleeps.
 *
 * Best effort and Linux only: through `chrt` (util-linux); without it, or elsewhere, nothing changes.
 * Returns how many threads were moved. Callers do it only when confinedToOneCpu().
 */
export function idleHelperThreads(): number {
  if (process.platform !== 'linux') return 0
  let moved = 0
  for (const tid of v8HelperThreads()) {
    const result = spawnSync('chrt', ['--idle', '--pid', '0', tid], { stdio: 'ignore', timeout: 2_000 })
    if (result.status === 0) moved++
  }
  return moved
}

/** Thread ids of V8's helper threads in this process (none where /proc cannot tell). */
export function v8HelperThreads(): string[] {
  try {
    return readdirSync('/proc/self/task').filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('V8Worker'))
  } catch {
    return []
  }
}

/**
 * Puts the calling thread (the event loop) in Linux's real-time class at its lowest priority
 * (SCHED_FIFO 1), so a chunk's arrival takes the core at once from anything else scheduled on it.
 *
 * Why: on a client pinned to one core, the event loop woken by arriving bytes still waited for the
 * thread that had the core to reach a scheduler tick (4 ms on a 250 Hz kernel): a SCHED_IDLE V8 helper
 * compiling in the background kept it 2.8–4.6 ms while the loop slept in `epoll_wait` with chunks
 * ready (`perf sched`), and every one of them was stamped late. A real-time thread preempts them on
 * wake-up. Through `fluxperf run` at 1,000 streams, 4 interleaved pairs: ITL error p99 ≤ 2 ms in 7 of 8
 * rounds (0.06–3.45 ms) against 1 of 8 (1.35–5.32 ms) without.
 *
 * Safeguards: only a thread still in the normal class is changed (a policy the user chose is kept);
 * processes it starts return to the normal class (SCHED_RESET_ON_FORK, `chrt --reset-on-fork`); the
 * kernel's real-time throttling keeps 5 % of the core for other threads even if the loop never sleeps.
 * Needs root or CAP_SYS_NICE and `chrt`; otherwise, or with FLUXPERF_NO_REALTIME=1, nothing changes.
 * Returns whether the thread was moved. Callers do it only when confinedToOneCpu().
 */
export function realtimeEventLoop(): boolean {
  if (process.platform !== 'linux' || process.env['FLUXPERF_NO_REALTIME'] === '1') return false
  let tid: string
  try {
    // "<pid>/task/<tid>": the calling thread, which may be a worker thread's.
    tid = readlinkSync('/proc/thread-self').split('/').at(-1) as string
    if (threadPolicy('/proc/thread-self/stat') !== SCHED_OTHER) return false
  } catch {
    return false
  }
  return spawnSync('chrt', ['--fifo', '--reset-on-fork', '--pid', '1', tid], { stdio: 'ignore', timeout: 2_000 }).status === 0
}

const SCHED_OTHER = 0

/** A thread's scheduling policy: field 41 of its stat file. */
export function threadPolicy(statPath: string): number {
  return Number(statFields(statPath)[38])
}

/** A thread's state, field 3 of its stat file: R (running or waiting for a CPU), S (asleep), D, T... */
export function threadState(statPath: string): string {
  return statFields(statPath)[0] as string
}

/** The fields of a stat file after the parenthesised name, which may hold spaces: field 3 onwards. */
function statFields(statPath: string): string[] {
  const stat = readFileSync(statPath, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** How often a busy real-time loop looks at V8's helpers, and for how long it then lets one run. */
const YIELD_CHECK_MS = 10
const YIELD_MS = 1
/** Event-loop utilisation above which a YIELD_CHECK_MS window counts as busy (no idle moment). */
const BUSY_UTILISATION = 0.98
/** Busy windows in a row before the loop yields: 50 ms, longer than any burst of chunks it reads. */
const BUSY_WINDOWS_BEFORE_YIELD = 5

/** A running yieldToWaitingHelpers(): it lasts as long as the process, like the loop's real-time class. */
export interface HelperYield {
  /** Times the loop has blocked so far. */
  readonly yields: number
}

/**
 * For a real-time event loop (realtimeEventLoop()): once the loop has been busy for 50 ms without an
 * idle moment while one of `helpers` waits for the core, it blocks for YIELD_MS, every YIELD_CHECK_MS
 * while that lasts, so the helper runs.
 *
 * Why: V8 sometimes waits for its helpers through tasks on the event loop. After the incremental
 * marking of a major GC started, the loop stopped blocking (`perf trace`: `epoll_pwait` with a zero
 * timeout every 3 µs for 800 ms), so the helpers never had the core from the SCHED_FIFO loop, until the
 * kernel's real-time throttling (a real-time class may use 95 % of each second) stopped the loop for
 * 30 ms while they caught up (`perf sched`): through `fluxperf run` at 1,000 streams over four rounds,
 * every chunk of that moment was stamped up to 33 ms late, ITL error p99 10–29 ms in 8 of 25 runs.
 * Blocking 1 ms in 10 lets them finish within a few hundred ms, late by at most about a millisecond,
 * and keeps the loop under the throttling limit. A loop that is only saturated, helpers asleep, is
 * never blocked.
 */
export function yieldToWaitingHelpers(helpers: readonly string[] = v8HelperThreads()): HelperYield {
  const cell = new Int32Array(new SharedArrayBuffer(4))
  const statPaths = helpers.map((tid) => `/proc/self/task/${tid}/stat`)
  let last = performance.eventLoopUtilization()
  let busyWindows = 0
  let yields = 0
  const waiting = (): boolean => statPaths.some((path) => {
    try {
      return threadState(path) === 'R'
    } catch {
      return false // the thread has ended
    }
  })
  setInterval(() => {
    const now = performance.eventLoopUtilization()
    busyWindows = performance.eventLoopUtilization(now, last).utilization > BUSY_UTILISATION ? busyWindows + 1 : 0
    last = now
    if (busyWindows >= BUSY_WINDOWS_BEFORE_YIELD && waiting()) {
      Atomics.wait(cell, 0, 0, YIELD_MS)
      yields++
    }
  }, YIELD_CHECK_MS).unref()
  return {
    get yields() {
      return yields
    },
  }
}

/**
 * The process may run on one CPU only (`taskset -c N`, a cpuset), as a load generator measuring
 * timing should: its helper threads then share the event loop's core, which is when idleHelperThreads()
 * helps. With more CPUs they have cores of their own, and as SCHED_IDLE threads on a host whose cores
 * are all busy (a CPU inference server beside the client) they could starve while the event loop
 * waits for one of them in a collection.
 */
export function confinedToOneCpu(): boolean {
  return availableParallelism() === 1
}

/** A running keepCpuAwake(): the spinning thread, until stopped. */
export interface AwakeCpu {
  /** The spinning thread's id (in /proc/self/task). */
  readonly tid: string
  /** CPU time the spinning thread has used so far, in ms (to leave out of the process's CPU figures). */
  cpuMs(): number
  stop(): Promise<void>
}

/** Runs in the worker: moves its own thread to SCHED_IDLE, says whether that worked, then spins. */
const SPINNER = `
const { readlinkSync } = require('node:fs')
const { spawnSync } = require('node:child_process')
const { parentPort } = require('node:worker_threads')
let tid = ''
try { tid = readlinkSync('/proc/thread-self').split('/').at(-1) } catch {}
const idle = tid !== '' && spawnSync('chrt', ['--idle', '--pid', '0', tid], { stdio: 'ignore', timeout: 2000 }).status === 0
parentPort.postMessage({ idle, tid })
if (idle) for (;;) {}
`

let awake: Promise<AwakeCpu | undefined> | undefined

/**
 * Keeps the event loop's core from halting while the loop sleeps: a worker thread in Linux's idle
 * class spins, so the core always runs something and the loop, woken by arriving bytes, takes it at
 * once (a SCHED_FIFO loop preempts an idle-class thread on wake-up). Once per process; later calls
 * return the same handle.
 *
 * Why: in a virtual machine a core with nothing to run halts (`HLT`), and an interrupt for it goes
 * through the hypervisor to wake it, which on this repository's VM took milliseconds now and then: at
 * 100 streams the loop sleeps most of the time, and `perf sched` showed it idle and not woken for up to
 * 14 ms while the server's chunks were due. 10 interleaved pairs of `fluxperf run` at 100 streams, in an
 * hour when the VM was noisy: ITL error p99 over 1 ms in 12 of 20 rounds without a spinning idle-class
 * thread (0.44–4.96 ms), in 2 of 20 with one (0.04–3.43 ms). It is the user-space form of the kernel's
 * `idle=poll`. The cost: the client's core shows 100 % busy (the idle class yields it to any other
 * thread at once), and the process's CPU time includes the spinning (cpuMs() says how much).
 *
 * Only for a real-time event loop on a process confined to one CPU (the warm-up decides): a loop in
 * the normal class was not always preempted for an idle-class thread until the next scheduler tick.
 * Without `chrt`, or where the thread cannot enter the idle class, nothing spins (undefined).
 */
export function keepCpuAwake(): Promise<AwakeCpu | undefined> {
  awake ??= startSpinner()
  return awake
}

async function startSpinner(): Promise<AwakeCpu | undefined> {
  if (process.platform !== 'linux' || process.env['FLUXPERF_NO_SPIN'] === '1') return undefined
  const worker = new Worker(SPINNER, { eval: true, stdout: true, stderr: true, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 } })
  worker.unref()
  const started = await new Promise<{ idle: boolean; tid: string }>((resolve) => {
    worker.once('message', resolve)
    worker.once('error', () => resolve({ idle: false, tid: '' }))
    worker.once('exit', () => resolve({ idle: false, tid: '' }))
  })
  if (!started.idle) {
    await worker.terminate()
    return undefined
  }
  const schedstat = `/proc/self/task/${started.tid}/schedstat`
  let stopped: Promise<void> | undefined
  return {
    tid: started.tid,
    cpuMs: () => {
      try {
        return Number(readFileSync(schedstat, 'utf8').split(' ')[0]) / 1e6
      } catch {
        return 0
      }
    },
    stop: () => (stopped ??= worker.terminate().then(() => undefined)),
  }
}

/** CPU time (ms) of the thread keepCpuAwake() started, 0 when none: benchmarks leave it out. */
export async function awakeCpuMs(): Promise<number> {
  return (await awake)?.cpuMs() ?? 0
}
