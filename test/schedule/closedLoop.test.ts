import { expect, test } from 'vitest'
import { runClosedLoop } from '../../src/schedule/closedLoop.ts'

test('onStarted runs once, after every worker has started its first item and before any has ended', async () => {
  const events: string[] = []
  const release: (() => void)[] = []
  const done = runClosedLoop([0, 1, 2, 3, 4], 3, (item) => {
    events.push(`start ${item}`)
    return new Promise<void>((resolve) => release.push(() => {
      events.push(`end ${item}`)
      resolve()
    }))
  }, undefined, () => events.push('started'))
  expect(events).toEqual(['start 0', 'start 1', 'start 2', 'started'])
  while (release.length > 0) {
    release.shift()?.()
    await new Promise((resolve) => setImmediate(resolve))
  }
  await done
  expect(events.filter((e) => e === 'started')).toHaveLength(1)
  expect(events.filter((e) => e.startsWith('end'))).toHaveLength(5)
})
