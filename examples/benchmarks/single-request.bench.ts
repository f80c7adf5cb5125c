// Vitest's own `bench` fixture for single-request comparisons: each sample is one request's TTFT
// (`overriddenDuration`), measured by fluxperf's client. Runs against the plugin's endpoint.
import { expect, inject, test } from 'vitest'
import { firstModelId, getTokenizer, openEndpoint, requestContext, sendRequest } from 'fluxperf'

test('a cached prompt answers faster than a cold one', async ({ bench }) => {
  const { endpoint: url, resetCacheUrl } = inject('fluxperf')
  const endpoint = openEndpoint({ url, connections: 1 })
  const tokenizer = await getTokenizer()
  // The model the server serves (the mock's, or a real server's first in /v1/models), as the workloads pick it.
  const model = (await firstModelId(endpoint)) ?? 'default'
  const ctx = requestContext(endpoint, { model, maxTokens: 4 }, tokenizer)
  const prompt = [{ role: 'user' as const, content: 'Summarise this report. ' + 'The quarterly figures rose steadily. '.repeat(150) }]
  let n = 0
  const ttftOf = async (): Promise<number> => {
    const r = await sendRequest(ctx, prompt, { id: `b${n}`, index: n++, sessionId: 'bench', turnIndex: 0, round: 1, concurrency: 1 })
    if (!r.ok || r.ttftMs === null) throw new Error(`request failed: ${r.error?.message}`)
    return r.ttftMs
  }
  const resetCache = async (): Promise<void> => {
    if (resetCacheUrl) await fetch(resetCacheUrl, { method: 'POST' })
  }
  try {
    const result = await bench.compare(
      bench('cold', { beforeEach: resetCache }, async () => ({ overriddenDuration: await ttftOf() })),
      bench('warm', { beforeAll: async () => void (await ttftOf()) }, async () => ({ overriddenDuration: await ttftOf() })),
      { iterations: 8, time: 0, warmupIterations: 1, warmupTime: 0 },
    )
    expect(result.get('warm')).toBeFasterThan(result.get('cold'))
  } finally {
    await endpoint.close()
  }
})
