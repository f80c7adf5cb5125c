import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { availableParallelism } from 'node:os'

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
  let tids: string[]
  try {
    tids = readdirSync('/proc/self/task').filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('V8Worker'))
  } catch {
    return 0
  }
  let moved = 0
  for (const tid of tids) {
    const result = spawnSync('chrt', ['--idle', '--pid', '0', tid], { stdio: 'ignore', timeout: 2_000 })
    if (result.status === 0) moved++
  }
  return moved
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
  const stat = readFileSync(statPath, 'utf8')
  // Fields after the parenthesised name start with the state, field 3.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38])
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
