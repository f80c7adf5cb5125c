import { afterEach, describe, expect, test, vi } from 'vitest'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import { getTokenizer } from '../../src/tokens/index.ts'
import type { Conversation } from '../../src/types.ts'
import { DUAL_ROUND, runDualRound, runWorkload } from '../../src/workloads/index.ts'
import type { DebugEntry, DualRoundOptions, WorkloadDefinition } from '../../src/workloads/index.ts'
import type { DualRoundResult } from '../../src/types.ts'

let mock: MockServer | undefined
afterEach(async () => {
  vi.restoreAllMocks()
  await mock?.close()
  mock = undefined
})

const conversations: Conversation[] = Array.from({ length: 6 }, (_, i) => ({
  sessionId: `s${i}`,
  userMessages: [`a prompt of several words about serving number ${i}`, 'and a follow-up question'],
  source: `test:${i + 1}`,
}))

/**
 * The debug log's entry counts the prompt's tokens; built for every request of a burst, that count delayed
 * a cold round's first answers by over 100 ms at 1,000 streams (issue 24). It is built only for a listener.
 */
describe('debug entries are built only when something listens', () => {
  async function run(listen: boolean) {
    mock = await startMockServer({ port: 0, itlMs: 0, jitter: 0 })
    const tokenizer = await getTokenizer()
    const count = vi.spyOn(tokenizer, 'count')
    const debug: DebugEntry[] = []
    const result = await runDualRound({
      endpoint: `${mock.url}/v1/chat/completions`, dataset: conversations, concurrency: [3], maxOutputTokens: 4, seed: 1,
      hooks: listen ? { onDebug: (e) => debug.push(e) } : {},
    })
    // Counts of the run's prompts only: the client's warm-up, before the clock, counts answers of its own.
    const prompts = count.mock.calls.filter(([text]) => conversations.some((c) => c.userMessages.some((m) => String(text).includes(m))))
    return { result, debug, counted: prompts.length }
  }

  test('without onDebug, no prompt is counted (the server reports usage)', async () => {
    const { result, debug, counted } = await run(false)
    expect(result.rounds.map((r) => r.total)).toEqual([12, 12])
    expect(debug).toEqual([])
    expect(counted).toBe(0)
  })

  test('with onDebug, every request has an entry with its context counted', async () => {
    const { debug, counted } = await run(true)
    expect(debug).toHaveLength(24)
    const round1 = debug.filter((e) => e.round === 1)
    expect(round1.every((e) => e.context_tokens > 0)).toBe(true)
    expect(counted).toBeGreaterThan(0)
  })

  test('run.debugging tells a workload whether to make an entry at all: false without onDebug, true with it', async () => {
    mock = await startMockServer({ port: 0, itlMs: 0, jitter: 0 })
    const seen: boolean[] = []
    // The dual round, with its run's flag noted: the workloads make no entry function unless it is set.
    const noting: WorkloadDefinition<DualRoundOptions, DualRoundResult> = {
      ...DUAL_ROUND,
      async prepare(options, seed, notice) {
        const prepared = await DUAL_ROUND.prepare(options, seed, notice)
        return { ...prepared, execute: (run) => (seen.push(run.debugging), prepared.execute(run)) }
      },
    }
    for (const listen of [false, true]) {
      await runWorkload(noting, { endpoint: `${mock.url}/v1/chat/completions`, dataset: conversations, concurrency: [2], maxOutputTokens: 4, seed: 1, hooks: listen ? { onDebug: () => {} } : {} })
    }
    expect(seen).toEqual([false, true])
  })
})
