// Dual-round workload as a performance gate: runs against the built-in mock unless FLUXPERF_ENDPOINT is set.
import { expect, test } from 'vitest'
import { dualRound } from 'fluxperf'

test('prefix cache halves TTFT at 8 concurrent users', async () => {
  const run = await dualRound({ dataset: 'datasets/example.jsonl', concurrency: [8], samples: 12, maxOutputTokens: 32, seed: 42 })
  expect(run).toMeetSlo({ ttft: ['p(90) < 800'], tpot: ['avg < 50'], errorRate: ['rate < 0.01'] })
  expect(run).toHaveCacheSpeedup({ metric: 'ttft', stat: 'p50', atLeast: 2 })
  expect(run).toHaveErrorRate({ below: 0.01 })
  expect(run).toNotRegress('baselines/prefix-cache.json', { tolerance: 0.5 })
})
