import { setImmediate as nextTurn } from 'node:timers/promises'
import { runInNewContext } from 'node:vm'
import { expect, test } from 'vitest'
import { collectGarbageIfGrown, collectGarbageNow, GARBAGE_WORTH_COLLECTING, promoteYoungObjects } from '../../../src/client/precision/heap.ts'
import { exposeGcFlags } from '../../../src/client/precision/v8Flags.ts'

test('collectGarbageNow frees unreachable objects at once, without a gc global now or in contexts made later', async () => {
  const gcBefore = typeof (globalThis as { gc?: unknown }).gc
  let target: object | null = { payload: new Array(1000).fill(1) }
  const ref = new WeakRef(target)
  target = null
  // A WeakRef's target is kept alive until the end of the job that created it.
  await nextTurn()
  expect(collectGarbageNow()).toBe(true)
  expect(ref.deref()).toBeUndefined()
  // The program's own global scope is untouched, and --expose-gc was unset after use.
  expect(typeof (globalThis as { gc?: unknown }).gc).toBe(gcBefore)
  if (exposeGcFlags(process.execArgv, process.env['NODE_OPTIONS']) !== undefined) expect(runInNewContext('typeof gc')).toBe('undefined')
})

test('promoteYoungObjects moves what is alive out of the young generation, intact', async () => {
  const { getHeapSpaceStatistics } = await import('node:v8')
  const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0
  const alive = Array.from({ length: 20_000 }, (_, i) => ({ i, text: `item ${i}` }))
  expect(newSpace()).toBeGreaterThan(500_000)
  expect(promoteYoungObjects()).toBe(true)
  expect(newSpace()).toBeLessThan(100_000)
  expect(alive[19_999]).toEqual({ i: 19_999, text: 'item 19999' })
})

test('collectGarbageIfGrown collects only once the heap has grown by GARBAGE_WORTH_COLLECTING since the last collection', () => {
  expect(collectGarbageNow()).toBe(true)
  expect(collectGarbageIfGrown()).toBe(false)
  // Held (so no collection in between can free it), and more than the threshold.
  const held = Array.from({ length: Math.ceil((GARBAGE_WORTH_COLLECTING * 2) / 1024) }, () => new Array(128).fill(1.5))
  expect(collectGarbageIfGrown()).toBe(true)
  expect(collectGarbageIfGrown()).toBe(false)
  expect(held.length).toBeGreaterThan(0)
})
