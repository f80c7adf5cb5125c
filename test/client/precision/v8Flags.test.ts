import { spawnSync } from 'node:child_process'
import * as v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { beforeAll, beforeEach, describe, expect, test, vi } from 'vitest'
import { exposeGcFlags, turbofanThresholdFlags, V8_TURBOFAN_AFTER_CALLS } from '../../../src/client/precision/v8Flags.ts'

// A pass-through spy: the flags are still set, and each call is recorded (V8's flags cannot be read back).
vi.mock('node:v8', async (original) => {
  const actual = await original<typeof import('node:v8')>()
  return { ...actual, setFlagsFromString: vi.fn(actual.setFlagsFromString) }
})
const setFlags = vi.mocked(v8.setFlagsFromString)
beforeEach(() => void setFlags.mockClear())

// The setup file loaded fluxperf before these mocks existed: load the precision modules afresh, so they
// import the mocked builtins.
let enterPrecision: typeof import('../../../src/client/precision/index.ts').enterPrecision
beforeAll(async () => {
  vi.resetModules()
  ;({ enterPrecision } = await import('../../../src/client/precision/index.ts'))
})

describe('the TurboFan threshold', () => {
  test('is lowered to 600 calls, and restored to V8 default, unless Node was started with one (argument or NODE_OPTIONS)', () => {
    const change = { set: '--invocation-count-for-turbofan=600', restore: '--invocation-count-for-turbofan=3000' }
    expect(turbofanThresholdFlags([], '')).toEqual(change)
    expect(turbofanThresholdFlags(['--max-semi-space-size=8'], '--enable-source-maps')).toEqual(change)
    expect(turbofanThresholdFlags(['--invocation-count-for-turbofan=3000'], '')).toBeUndefined()
    expect(turbofanThresholdFlags([], '--max-old-space-size=4096 --invocation_count_for_turbofan=100')).toBeUndefined()
  })

  test("the value restored is this Node's V8 default", () => {
    const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout
    expect(options).toContain(`default: --invocation-count-for-turbofan=${V8_TURBOFAN_AFTER_CALLS}`)
  })
})

describe('--expose-gc', () => {
  test('is set only to fetch the gc function, then unset, unless Node was started with a choice of its own', () => {
    expect(exposeGcFlags([], '')).toEqual({ set: '--expose-gc', restore: '--no-expose-gc' })
    expect(exposeGcFlags(['--expose-gc'], '')).toBeUndefined()
    expect(exposeGcFlags([], '--expose_gc')).toBeUndefined()
    expect(exposeGcFlags(['--no-expose-gc'], '')).toBeUndefined()
  })
})

describe("precision 'on' and V8's flags", () => {
  const started = exposeGcFlags(process.execArgv, process.env['NODE_OPTIONS']) === undefined

  test('dispose() sets back every flag it set, last first, and later contexts get no gc global', async () => {
    const precision = await enterPrecision({ mode: 'on' })
    const whileOn = setFlags.mock.calls.map(([flag]) => flag)
    await precision.dispose()
    const all = setFlags.mock.calls.map(([flag]) => flag)
    // The gc function is fetched once per process: its flag is set and unset at once, if at all.
    const gcFlags = started ? [] : ['--expose-gc', '--no-expose-gc']
    expect(whileOn).toEqual(['--invocation-count-for-turbofan=600', ...gcFlags])
    expect(all).toEqual([...whileOn, '--invocation-count-for-turbofan=3000'])
    if (!started) expect(runInNewContext('typeof gc')).toBe('undefined')
    expect(precision.changes).toContain('V8 optimises after 600 calls')
  })

  test('two at once share the changes; they are undone when the last one is disposed', async () => {
    const first = await enterPrecision({ mode: 'on' })
    const second = await enterPrecision({ mode: 'on' })
    expect(setFlags.mock.calls.map(([flag]) => flag)).toEqual(['--invocation-count-for-turbofan=600'])
    expect(second.changes).toEqual(first.changes)
    await first.dispose()
    expect(setFlags).toHaveBeenCalledTimes(1)
    await second.dispose()
    expect(setFlags.mock.calls.map(([flag]) => flag)).toEqual(['--invocation-count-for-turbofan=600', '--invocation-count-for-turbofan=3000'])
  })

  test('a process that chose its own threshold keeps it: nothing set, nothing restored', () => {
    const flags = runInChildWith(['--invocation-count-for-turbofan=1000'])
    expect(flags).toEqual([])
  })
})

/** In a fresh Node started with `nodeFlags`, enters and disposes precision on; returns the V8 flags it set (read by a wrapper). */
function runInChildWith(nodeFlags: string[]): string[] {
  const script = `
    import { syncBuiltinESMExports } from 'node:module'
    import v8 from 'node:v8'
    const calls = []
    const set = v8.setFlagsFromString
    v8.setFlagsFromString = (flag) => { calls.push(flag); set(flag) }
    syncBuiltinESMExports()
    const { enterPrecision } = await import(${JSON.stringify(new URL('../../../src/client/precision/index.ts', import.meta.url).href)})
    const precision = await enterPrecision({ mode: 'on' })
    await precision.dispose()
    console.log(JSON.stringify(calls.filter((f) => f.includes('turbofan'))))`
  const result = spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8' })
  expect(result.status, result.stderr).toBe(0)
  return JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as string[]
}
