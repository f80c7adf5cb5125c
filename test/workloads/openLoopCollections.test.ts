import { afterAll, beforeAll, expect, test, vi } from 'vitest'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'

/**
 * In precision mode, afterBurst() forces two young-generation collections: right after a closed loop's burst
 * of sends, where nothing is due for a while. An open loop has no burst; called every 64 sends it delayed the
 * sends due next (trace replay at 1,000 requests/s: lag p99 3.7–6.3 ms with it, 1.6–3.1 ms without;
 * docs/design/precision.md). Precision here is a stand-in that counts the calls and changes nothing in the process.
 */
const calls = vi.hoisted(() => ({ afterBurst: 0, entered: 0 }))
vi.mock('../../src/client/index.ts', async (importOriginal) => {
  const client = await importOriginal<typeof import('../../src/client/index.ts')>()
  return {
    ...client,
    enterPrecision: async (options: Parameters<typeof client.enterPrecision>[0]) => {
      calls.entered++
      const precision = await client.enterPrecision({ ...options, mode: 'off' })
      return Object.assign(Object.create(precision) as typeof precision, { afterBurst: () => void calls.afterBurst++ })
    },
  }
})

let mock: MockServer
let workloads: typeof import('../../src/workloads/index.ts')
beforeAll(async () => {
  // The plugin's setup file loaded the workloads with the real client already: load them again, on the stand-in.
  vi.resetModules()
  workloads = await import('../../src/workloads/index.ts')
  mock = await startMockServer({ port: 0, itlMs: 1, jitter: 0 })
})
afterAll(() => mock.close())

test('an open loop never forces a collection between its sends', async () => {
  calls.afterBurst = 0
  calls.entered = 0
  const run = await workloads.runTraffic({ endpoint: `${mock.url}/v1/chat/completions`, seed: 1, maxOutputTokens: 2, inputTokens: 16, rate: 400, duration: 0.5, precision: 'on' })
  expect(run.openLoop?.sent).toBe(200)
  expect(calls.entered).toBe(1)
  expect(calls.afterBurst).toBe(0)
})

test('a closed loop still does, once after each round\'s burst', async () => {
  calls.afterBurst = 0
  calls.entered = 0
  const run = await workloads.runDualRound({
    endpoint: `${mock.url}/v1/chat/completions`, seed: 1, maxOutputTokens: 2, concurrency: [4], precision: 'on',
    dataset: [{ sessionId: 's1', userMessages: ['hello there'], source: 'test:1' }, { sessionId: 's2', userMessages: ['good morning'], source: 'test:2' }],
  })
  expect(run.rounds.map((r) => r.total)).toEqual([2, 2])
  expect(calls.entered).toBe(1)
  expect(calls.afterBurst).toBe(2)
})
