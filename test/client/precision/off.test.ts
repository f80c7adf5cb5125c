import * as childProcess from 'node:child_process'
import * as v8 from 'node:v8'
import * as workerThreads from 'node:worker_threads'
import { beforeAll, describe, expect, test, vi } from 'vitest'
import { linux, tasks } from './processState.ts'

// Pass-through spies: whatever precision mode calls is recorded and still happens.
vi.mock('node:v8', async (original) => {
  const actual = await original<typeof import('node:v8')>()
  return { ...actual, setFlagsFromString: vi.fn(actual.setFlagsFromString) }
})
vi.mock('node:child_process', async (original) => {
  const actual = await original<typeof import('node:child_process')>()
  return { ...actual, spawnSync: vi.fn(actual.spawnSync) }
})
vi.mock('node:worker_threads', async (original) => {
  const actual = await original<typeof import('node:worker_threads')>()
  return { ...actual, Worker: vi.fn(actual.Worker) }
})

// The setup file loaded fluxperf before these mocks existed: load the precision modules afresh, so they
// import the mocked builtins.
let enterPrecision: typeof import('../../../src/client/precision/index.ts').enterPrecision
beforeAll(async () => {
  vi.resetModules()
  ;({ enterPrecision } = await import('../../../src/client/precision/index.ts'))
})

describe("precision 'off'", () => {
  test('leaves the process as it found it: threads and their policies, V8 flags, no chrt, no thread, no gc, no timer', async () => {
    expect(vi.isMockFunction(v8.setFlagsFromString) && vi.isMockFunction(childProcess.spawnSync)).toBe(true)
    const before = linux ? tasks() : []
    const resources = process.getActiveResourcesInfo()
    const notices: string[] = []
    const precision = await enterPrecision({ mode: 'off', notice: (m) => notices.push(m) })
    await precision.beforeClock()
    precision.afterBurst()
    expect(process.getActiveResourcesInfo()).toEqual(resources)
    await precision.dispose()
    await precision.dispose()
    if (linux) expect(tasks()).toEqual(before)
    expect(v8.setFlagsFromString).not.toHaveBeenCalled()
    expect(childProcess.spawnSync).not.toHaveBeenCalled()
    expect(workerThreads.Worker).not.toHaveBeenCalled()
    expect('gc' in globalThis).toBe(process.execArgv.some((a) => /^--expose[-_]gc$/.test(a)))
    expect(process.getActiveResourcesInfo()).toEqual(resources)
    expect(notices).toEqual([])
  })

  test('is inactive and says so', async () => {
    const precision = await enterPrecision({ mode: 'off' })
    expect(precision).toMatchObject({ mode: 'off', active: false, changes: [], refused: [], warmedUp: false })
    expect(precision.describe()).toBe('precision off')
    expect(precision.summary()).toEqual({ mode: 'off', active: false, changes: [], refused: [] })
  })

  test.runIf(linux)('(control: the spies do see what the precision modules call)', async () => {
    const { setThreadPolicy } = await import('../../../src/client/precision/scheduling.ts')
    expect(setThreadPolicy('no-such-thread', ['--other', '0'])).toMatch(/^chrt (refused|not found)/)
    expect(childProcess.spawnSync).toHaveBeenCalledWith('chrt', ['--other', '--pid', '0', 'no-such-thread'], expect.anything())
  })

  test('refuses a mode it does not know', async () => {
    await expect(enterPrecision({ mode: 'max' as never })).rejects.toThrow(/expected 'off', 'auto' or 'on'/)
  })
})
