// The workload functions accept a base URL as the CLI's --endpoint does: a server root or a /v1 path.
import { afterAll, beforeAll, expect, test } from 'vitest'
import { dualRound, startMockServer } from '../../src/index.ts'
import type { MockServer } from '../../src/index.ts'

let mock: MockServer
beforeAll(async () => {
  mock = await startMockServer({ port: 0, baseLatencyMs: 2, itlMs: 1 })
})
afterAll(() => mock.close())

test.each(['', '/v1'])('dualRound({ endpoint: <server>%s }) appends the chat path and says so', async (suffix) => {
  const notices: string[] = []
  const run = await dualRound({
    endpoint: `${mock.url}${suffix}`, dataset: 'fluxperf:example', concurrency: [2], samples: 2, maxOutputTokens: 4, seed: 3,
    hooks: { onNotice: (m) => notices.push(m) },
  })
  expect(notices).toContain(`endpoint ${mock.url}${suffix} is a base URL; requests go to ${mock.url}/v1/chat/completions (give the full path or --api to use another API, e.g. /v1/completions)`)
  expect(run.endpoint).toBe(`${mock.url}/v1/chat/completions`)
  for (const round of run.rounds) expect(round.failed).toBe(0)
  expect(run.rounds.every((round) => round.succeeded > 0)).toBe(true)
})
