import { getEventListeners } from 'node:events'
import { describe, expect, test } from 'vitest'
import { listenForAbort, stopListening } from '../../src/client/abortFanOut.ts'

function counter() {
  return { calls: 0, handleEvent() { this.calls++ } }
}

describe('listenForAbort', () => {
  test('reaches every listener once through a single listener on the signal', () => {
    const controller = new AbortController()
    const members = Array.from({ length: 1000 }, counter)
    for (const m of members) listenForAbort(controller.signal, m)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    controller.abort()
    controller.abort()
    expect(members.map((m) => m.calls)).toEqual(members.map(() => 1))
  })

  test('a listener that stopped listening is not called; the others still are', () => {
    const controller = new AbortController()
    const [gone, kept] = [counter(), counter()]
    const subscription = listenForAbort(controller.signal, gone)
    listenForAbort(controller.signal, kept)
    stopListening(subscription)
    stopListening(subscription)
    controller.abort()
    expect([gone.calls, kept.calls]).toEqual([0, 1])
  })

  test('the first, a middle and the last may leave; the rest are called oldest first', () => {
    const controller = new AbortController()
    const order: number[] = []
    const subscriptions = Array.from({ length: 5 }, (_, i) => listenForAbort(controller.signal, { handleEvent: () => order.push(i) }))
    for (const i of [0, 2, 4]) stopListening(subscriptions[i]!)
    listenForAbort(controller.signal, { handleEvent: () => order.push(5) })
    controller.abort()
    expect(order).toEqual([1, 3, 5])
  })

  test('one that leaves while the abort is being delivered is not called', () => {
    const controller = new AbortController()
    const later = counter()
    let laterSubscription: ReturnType<typeof listenForAbort> | undefined
    listenForAbort(controller.signal, { handleEvent: () => stopListening(laterSubscription!) })
    laterSubscription = listenForAbort(controller.signal, later)
    controller.abort()
    expect(later.calls).toBe(0)
  })

  test('every listener that stopped leaves the list empty: a new one is still reached', () => {
    const controller = new AbortController()
    const subscriptions = Array.from({ length: 100 }, () => listenForAbort(controller.signal, counter()))
    for (const s of subscriptions) stopListening(s)
    expect(subscriptions.every((s) => s.listener === null)).toBe(true)
    const last = counter()
    listenForAbort(controller.signal, last)
    controller.abort()
    expect(last.calls).toBe(1)
  })

  test('on a signal that has already aborted the listener is called at once', () => {
    const member = counter()
    const subscription = listenForAbort(AbortSignal.abort(), member)
    expect(member.calls).toBe(1)
    stopListening(subscription)
    expect(member.calls).toBe(1)
  })

  test('signals are independent', () => {
    const [a, b] = [new AbortController(), new AbortController()]
    const [onA, onB] = [counter(), counter()]
    listenForAbort(a.signal, onA)
    listenForAbort(b.signal, onB)
    a.abort()
    expect([onA.calls, onB.calls]).toEqual([1, 0])
  })

  test('a listener that throws does not keep the others from the abort; its error still surfaces', async () => {
    const errors: unknown[] = []
    const onError = (error: unknown): void => { errors.push(error) }
    process.on('uncaughtException', onError)
    try {
      const controller = new AbortController()
      const [before, after] = [counter(), counter()]
      listenForAbort(controller.signal, before)
      listenForAbort(controller.signal, { handleEvent() { throw new Error('boom') } })
      listenForAbort(controller.signal, after)
      controller.abort()
      expect([before.calls, after.calls]).toEqual([1, 1])
      await new Promise((resolve) => setImmediate(resolve))
      expect(errors.map((e) => (e as Error).message)).toEqual(['boom'])
    } finally {
      process.off('uncaughtException', onError)
    }
  })
})
