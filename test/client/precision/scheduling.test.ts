import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { policyName, threadNice, threadPolicy, threadState } from '../../../src/client/precision/scheduling.ts'
import { AS_NOBODY, canDropPrivileges, hasChrt, linux, runNode, srcModule } from './processState.ts'

describe('reading a thread from /proc', () => {
  test('reads state, nice and policy after the name, which may hold spaces and parentheses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fluxperf-stat-'))
    const stat = join(dir, 'stat')
    // Fields 1–41 of a stat line; the name is field 2, the nice value 19, the policy 41.
    const fields = Array.from({ length: 41 }, (_, i) => String(i + 1))
    fields[1] = '(V8Worker (x) 1)'
    fields[2] = 'S'
    fields[18] = '-5'
    fields[40] = '5'
    writeFileSync(stat, `${fields.join(' ')} 0 0\n`)
    expect(threadState(stat)).toBe('S')
    expect(threadNice(stat)).toBe(-5)
    expect(threadPolicy(stat)).toBe(5)
    rmSync(dir, { recursive: true })
  })

  test.runIf(linux)('reads R for the thread that runs, in the normal class', () => {
    expect(threadState('/proc/thread-self/stat')).toBe('R')
    expect(policyName(threadPolicy('/proc/thread-self/stat'))).toBe('SCHED_OTHER')
  })
})

describe('permissions', () => {
  interface Permissions { canLeaveIdle: boolean; fifo: { ok: boolean; reason?: string } }
  const permissionsIn = (prefix: readonly string[]): Permissions => runNode<Permissions>(`
    import { canLeaveIdleClass, callingThread, realtimeEventLoop } from ${srcModule('client/precision/scheduling.ts')}
    console.log(JSON.stringify({ canLeaveIdle: canLeaveIdleClass(callingThread()), fifo: realtimeEventLoop() }))`, prefix)

  test.runIf(hasChrt && canDropPrivileges)('without CAP_SYS_NICE: SCHED_IDLE could not be left, and chrt refuses SCHED_FIFO, saying why', () => {
    expect(permissionsIn(AS_NOBODY)).toEqual({ canLeaveIdle: false, fifo: { ok: false, reason: 'chrt refused (needs CAP_SYS_NICE)' } })
  })

  test.runIf(hasChrt && canDropPrivileges)('with it (root here): both are allowed', () => {
    expect(permissionsIn([])).toMatchObject({ canLeaveIdle: true, fifo: { ok: true } })
  })
})
