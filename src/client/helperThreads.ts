import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
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
 * The process may run on one CPU only (`taskset -c N`, a cpuset), as a load generator measuring
 * timing should: its helper threads then share the event loop's core, which is when idleHelperThreads()
 * helps. With more CPUs they have cores of their own, and as SCHED_IDLE threads on a host whose cores
 * are all busy (a CPU inference server beside the client) they could starve while the event loop
 * waits for one of them in a collection.
 */
export function confinedToOneCpu(): boolean {
  return availableParallelism() === 1
}
