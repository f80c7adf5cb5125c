// The workload functions accept a base URL as the CLI's --endpoint does (a server root or a /v1 path), and warm the
// client before the clock unless told not to.
import { afterAll, afterEach, beforeAll, expect, test, vi } from 'vitest'
import { dualRound, startMockServer } from '../../src/index.ts'
import type { MockServer } from '../../src/index.ts'

let mock: MockServer
beforeAll(async () => {
  mock = await startMockServer({ port: 0, baseLatencyMs: 2, itlMs: 1 })
})
afterAll(() => mock.close())
afterEach(() => vi.unstubAllEnvs())

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

test('the client is warmed before the clock by default (never at the endpoint); warmClient: false skips it; anything else is refused', async () => {
  // The suite's vitest.config.ts turns the default off (FLUXPERF_NO_WARM_CLIENT=1); a user's process has no such variable.
  vi.stubEnv('FLUXPERF_NO_WARM_CLIENT', undefined)
  const options = { endpoint: mock.url, dataset: 'fluxperf:example', concurrency: [1], samples: 1, maxOutputTokens: 4, seed: 3 }
  const before = mock.stats().completed
  const warmed = await dualRound(options)
  expect(warmed.client.warmedUp).toBe(true)
  // The warm-up streams from a server of fluxperf's own: the endpoint answered only the workload's requests.
  expect(mock.stats().completed - before).toBe(warmed.rounds.reduce((n, r) => n + r.total, 0))
  const cold = await dualRound({ ...options, warmClient: false })
  expect(cold.client.warmedUp).toBe(false)
  await expect(dualRound({ ...options, warmClient: 'yes' as never })).rejects.toThrow('warmClient: expected true or false, got "yes"')
})

test('FLUXPERF_NO_WARM_CLIENT=1 turns the default off; warmClient: true still warms', async () => {
  vi.stubEnv('FLUXPERF_NO_WARM_CLIENT', '1')
  const options = { endpoint: mock.url, dataset: 'fluxperf:example', concurrency: [1], samples: 1, maxOutputTokens: 4, seed: 3 }
  expect((await dualRound(options)).client.warmedUp).toBe(false)
  expect((await dualRound({ ...options, warmClient: true })).client.warmedUp).toBe(true)
})
