import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { idleHelperThreads } from '../../src/client/helperThreads.ts'

/** A thread's scheduling policy (0 = SCHED_OTHER, 5 = SCHED_IDLE): field 41 of its stat. */
function policyOf(tid: string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
  // Fields after the parenthesised name start with the state, field 3.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38])
}

/** Policies of the threads of this process whose name starts with `prefix`. */
function policies(prefix: string): number[] {
  return readdirSync('/proc/self/task')
    .filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith(prefix))
    .map(policyOf)
}

const linuxWithChrt = process.platform === 'linux' && spawnSync('chrt', ['--version'], { stdio: 'ignore' }).status === 0

describe('idleHelperThreads', () => {
  test.runIf(linuxWithChrt)("moves V8's helper threads to SCHED_IDLE and leaves the event loop's thread alone", () => {
    const helpers = policies('V8Worker').length
    expect(helpers).toBeGreaterThan(0)
    expect(idleHelperThreads()).toBe(helpers)
    expect(policies('V8Worker')).toEqual(Array(helpers).fill(5))
    expect(policyOf(String(process.pid))).toBe(0)
  })

  test.runIf(!linuxWithChrt)('changes nothing where it cannot (not Linux, or no chrt)', () => {
    expect(idleHelperThreads()).toBe(0)
  })
})
