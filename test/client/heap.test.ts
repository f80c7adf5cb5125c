import { setImmediate as nextTurn } from 'node:timers/promises'
import { expect, test } from 'vitest'
import { collectGarbageNow, promoteYoungObjects } from '../../src/client/heap.ts'

test('collectGarbageNow frees unreachable objects at once, without a gc global', async () => {
  const gcBefore = typeof (globalThis as { gc?: unknown }).gc
  let target: object | null = { payload: new Array(1000).fill(1) }
  const ref = new WeakRef(target)
  target = null
  // A WeakRef's target is kept alive until the end of the job that created it.
  await nextTurn()
  expect(collectGarbageNow()).toBe(true)
  expect(ref.deref()).toBeUndefined()
  // The program's own global scope is untouched.
  expect(typeof (globalThis as { gc?: unknown }).gc).toBe(gcBefore)
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
