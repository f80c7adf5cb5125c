import { createServer } from 'node:http'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, test } from 'vitest'
import { turnTime } from '../../src/client/turnClock.ts'
import { contextFor, send } from '../helpers/client.ts'

/** Spins until performance.now() has moved past `t`, so a later stamp must differ. */
function waitPast(t: number): void {
  while (performance.now() <= t) { /* spin */ }
}

describe('turnTime', () => {
  test('calls until the event loop polls again share the first stamp; after the next poll a new one is taken', async () => {
    const first = turnTime()
    waitPast(first)
    expect(turnTime()).toBe(first)
    // The first immediate runs in this iteration's check phase, the second only after the loop has polled.
    await nextTurn()
    await nextTurn()
    expect(turnTime()).toBeGreaterThan(first)
  })

  test('chunks of two streams that wait in the kernel together get one stamp, never before they were written', async () => {
    const open: ServerResponse[] = []
    let writtenAt = 0
    const content = (s: string): string => `data: {"choices":[{"index":0,"delta":{"content":"${s}"},"finish_reason":null}]}\n\n`
    const server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write(content('a'))
        open.push(res)
        if (open.length < 2) return
        setTimeout(() => {
          for (const r of open) r.write(content('b'))
          // Block this (shared) process so that both chunks are in the kernel before the client reads.
          const until = performance.now() + 30
          waitPast(until)
          writtenAt = performance.timeOrigin + performance.now()
          for (const r of open) r.end('data: [DONE]\n\n')
        }, 20)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { ctx, endpoint } = contextFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`)
    try {
      const [a, b] = await Promise.all([send(ctx, 'x'), send(ctx, 'y')])
      expect(a?.chunkOffsetsMs).toHaveLength(2)
      expect(b?.chunkOffsetsMs).toHaveLength(2)
      const secondA = (a?.startedAt ?? 0) + (a?.chunkOffsetsMs[1] ?? 0)
      const secondB = (b?.startedAt ?? 0) + (b?.chunkOffsetsMs[1] ?? 0)
      // Epoch milliseconds near 1.8e12 carry ~0.00024 ms of rounding; separate stamps differ by far more
      // than 0.002 ms (each data callback takes tens of µs).
      expect(Math.abs(secondA - secondB)).toBeLessThan(0.002)
      // The stamp is taken after the bytes were handed to the kernel (node:http flushes after the spin).
      expect(secondA).toBeGreaterThanOrEqual(writtenAt - 0.002)
    } finally {
      await endpoint.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
