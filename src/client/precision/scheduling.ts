import { spawnSync } from 'node:child_process'
import { readFileSync, readlinkSync } from 'node:fs'
import { availableParallelism } from 'node:os'

/**
 * Linux scheduling of single threads, through `chrt` (util-linux) and /proc: the primitives precision
 * mode uses and undoes. Why each change helps: docs/design/precision.md.
 */

/** Linux scheduling policies, as field 41 of a thread's stat file shows them. */
export const SCHED_OTHER = 0
export const SCHED_FIFO = 1
export const SCHED_BATCH = 3
export const SCHED_IDLE = 5

const POLICY_NAMES: Record<number, string> = { 0: 'SCHED_OTHER', 1: 'SCHED_FIFO', 2: 'SCHED_RR', 3: 'SCHED_BATCH', 5: 'SCHED_IDLE', 6: 'SCHED_DEADLINE' }

/** A policy's name (SCHED_OTHER, SCHED_IDLE…), for messages. */
export function policyName(policy: number): string {
  return POLICY_NAMES[policy] ?? `policy ${policy}`
}

/** A change made, or why not. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string }

/**
 * The process may run on one CPU only (`taskset -c N`, a cpuset), as a load generator measuring timing
 * should: its helper threads then share the event loop's core, which is when moving them helps. With more
 * CPUs they have cores of their own (and, idle-class on a host whose cores are all busy, could starve
 * while the loop waits for them).
 */
export function confinedToOneCpu(): boolean {
  return availableParallelism() === 1
}

/** A thread's scheduling policy: field 41 of its stat file. */
export function threadPolicy(statPath: string): number {
  return Number(statFields(statPath)[38])
}

/** A thread's nice value: field 19 of its stat file. */
export function threadNice(statPath: string): number {
  return Number(statFields(statPath)[16])
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

/** The calling thread's id ("<pid>/task/<tid>": a worker thread's own when called in one). */
export function callingThread(): string {
  return readlinkSync('/proc/thread-self').split('/').at(-1) as string
}

/**
 * Sets thread `tid`'s policy with `chrt <policyArgs> --pid <tid>`. Returns undefined when done,
 * otherwise why not, in a few words (chrt missing, refused for want of CAP_SYS_NICE, or chrt's own words).
 */
export function setThreadPolicy(tid: string, policyArgs: readonly string[]): string | undefined {
  const result = spawnSync('chrt', [...policyArgs.slice(0, -1), '--pid', policyArgs.at(-1) as string, tid], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 2_000 })
  if (result.error) return (result.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'chrt not found (util-linux)' : `chrt failed (${result.error.message})`
  if (result.status === 0) return undefined
  const said = result.stderr.trim().split('\n')[0] ?? ''
  return /not permitted/i.test(said) ? 'chrt refused (needs CAP_SYS_NICE)' : `chrt refused (${said || `exit ${result.status}`})`
}

/** `chrt` arguments for each policy precision mode sets; the last one is the priority. */
export const TO_IDLE = ['--idle', '0'] as const
export const TO_OTHER = ['--other', '0'] as const
/** Real-time at the lowest priority; processes the thread starts return to the normal class (reset on fork). */
export const TO_FIFO = ['--fifo', '--reset-on-fork', '1'] as const

/**
 * Whether this process could move a thread back out of SCHED_IDLE: Linux lets it only with
 * CAP_SYS_NICE, or with an RLIMIT_NICE that would let the thread's nice value be lowered (the kernel
 * treats SCHED_IDLE as nice 20). Without either, a move to the idle class cannot be undone.
 */
export function canLeaveIdleClass(tid: string): boolean {
  try {
    const capEff = /^CapEff:\s*([0-9a-f]+)/im.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
    const CAP_SYS_NICE = 23n
    if (capEff !== undefined && ((BigInt(`0x${capEff}`) >> CAP_SYS_NICE) & 1n) === 1n) return true
    const limit = /^Max nice priority\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]
    if (limit === 'unlimited') return true
    return limit !== undefined && Number(limit) >= 20 - threadNice(`/proc/self/task/${tid}/stat`)
  } catch {
    return false
  }
}

/**
 * Puts the calling thread (the event loop) in the real-time class at its lowest priority (SCHED_FIFO 1,
 * reset on fork), so arriving bytes take the core at once. Only a thread in the normal class is moved
 * (a class the caller chose is kept); FLUXPERF_NO_REALTIME=1 keeps it. Why: docs/design/precision.md.
 * @returns the thread's id, or why it was not moved
 */
export function realtimeEventLoop(): Outcome<string> {
  if (process.platform !== 'linux') return { ok: false, reason: 'Linux only' }
  if (process.env['FLUXPERF_NO_REALTIME'] === '1') return { ok: false, reason: 'not tried (FLUXPERF_NO_REALTIME=1)' }
  let tid: string
  try {
    tid = callingThread()
    const policy = threadPolicy('/proc/thread-self/stat')
    if (policy !== SCHED_OTHER) return { ok: false, reason: `not tried (the loop runs in ${policyName(policy)}, the caller's choice)` }
  } catch (error) {
    return { ok: false, reason: `/proc unreadable (${(error as Error).message})` }
  }
  const refused = setThreadPolicy(tid, TO_FIFO)
  return refused === undefined ? { ok: true, value: tid } : { ok: false, reason: refused }
}
