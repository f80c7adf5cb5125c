import { afterAll, beforeAll, expect, test } from 'vitest'
import { openEndpoint, requestContext, sendRequest } from '../../src/client/index.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import { getTokenizer } from '../../src/tokens/index.ts'

let mock: MockServer
beforeAll(async () => {
  mock = await startMockServer({ port: 0, itlMs: 2, itlPerSeqMs: 0, baseLatencyMs: 1, prefillTokensPerS: 1e7, maxNumSeqs: 2000 })
})
afterAll(() => mock.close())

test('1,000 concurrent streams against the mock all complete with every token and no client error', async () => {
  const streams = 1000
  const tokens = 16
  const endpoint = openEndpoint({ url: `${mock.url}/v1/chat/completions`, connections: streams, timeoutMs: 120_000 })
  const tokenizer = await getTokenizer()
  try {
    const ctx = requestContext(endpoint, { model: 'mock-llm', maxTokens: tokens }, tokenizer)
    const records = await Promise.all(Array.from({ length: streams }, (_, i) =>
      sendRequest(ctx, [{ role: 'user', content: `user ${i} asks a question` }], { id: `s${i}`, index: i, sessionId: `s${i}`, turnIndex: 0, round: 1, concurrency: streams })))
    const failed = records.filter((r) => !r.ok)
    expect(failed.map((r) => r.error)).toEqual([])
    expect(records.every((r) => r.outputTokens === tokens && r.chunkOffsetsMs.length === tokens)).toBe(true)
    expect(mock.stats().completed).toBeGreaterThanOrEqual(streams)
  } finally {
    await endpoint.close()
  }
})
