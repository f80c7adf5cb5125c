import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect, test } from 'vitest'
import { keepCpuAwake, SPINNER_THREAD_NAME } from '../../../src/client/precision/spinner.ts'
import { threadPolicy, threadState } from '../../../src/client/precision/scheduling.ts'
import { hasChrt, tasks } from './processState.ts'

test.runIf(hasChrt)('keepCpuAwake spins one named idle-class thread, and stop() ends it', async () => {
  const before = tasks()
  const awake = await keepCpuAwake()
  if (!awake.ok) throw new Error(awake.reason)
  const { tid } = awake.value
  expect(readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()).toBe(SPINNER_THREAD_NAME)
  expect(threadPolicy(`/proc/self/task/${tid}/stat`)).toBe(5) // SCHED_IDLE: any other thread takes the core from it at once
  // Spinning, never asleep once it runs; on a loaded machine it may not have been scheduled yet.
  let state = threadState(`/proc/self/task/${tid}/stat`)
  for (let checks = 0; checks < 500 && state !== 'R'; checks++) {
    await sleep(20)
    state = threadState(`/proc/self/task/${tid}/stat`)
  }
  expect(state).toBe('R')
  expect(await awake.value.stop()).toBe(true)
  expect(await awake.value.stop()).toBe(true) // idempotent
  expect(readdirSync('/proc/self/task')).not.toContain(tid)
  expect(tasks()).toEqual(before)
})
