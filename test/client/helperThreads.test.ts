import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
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

describe('the warm-up', () => {
  const linuxWithTaskset = linuxWithChrt && spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0
  /** Runs warmUpClient() in a fresh Node (pinned to CPU 0 when asked) and returns its V8Worker policies. */
  function helperPoliciesAfterWarmUp(pinned: boolean): number[] {
    const script = `
      import { readdirSync, readFileSync } from 'node:fs'
      import { warmUpClient } from ${JSON.stringify(new URL('../../src/client/warmUp.ts', import.meta.url).href)}
      await warmUpClient()
      const policies = readdirSync('/proc/self/task')
        .filter((tid) => readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').startsWith('V8Worker'))
        .map((tid) => { const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8'); return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]) })
      console.log(JSON.stringify(policies))`
    const node = [process.execPath, '--input-type=module', '-e', script]
    const result = pinned ? spawnSync('taskset', ['-c', '0', ...node], { encoding: 'utf8' }) : spawnSync(node[0] as string, node.slice(1), { encoding: 'utf8' })
    expect(result.status, result.stderr).toBe(0)
    return JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as number[]
  }

  test.runIf(linuxWithTaskset)('moves the helpers to SCHED_IDLE only when the process is confined to one CPU', () => {
    const pinned = helperPoliciesAfterWarmUp(true)
    expect(pinned.length).toBeGreaterThan(0)
    expect(pinned.every((p) => p === 5)).toBe(true)
    if (availableParallelism() > 1) expect(helperPoliciesAfterWarmUp(false).every((p) => p === 0)).toBe(true)
  })
})
