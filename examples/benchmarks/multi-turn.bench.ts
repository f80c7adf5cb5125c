// Multi-turn conversations about the shipped seed documents (the workload of the Python multi-turn tool,
// 002): turn 1 carries the document cold, later turns resend it with the history and hit the prefix cache.
// Runs against the built-in mock unless FLUXPERF_ENDPOINT is set.
import { expect, test } from 'vitest'
import { multiTurn } from 'fluxperf'

test('later turns reuse the prefix cache', async () => {
  const run = await multiTurn({ conversations: 6, turns: 4, parallel: 2, maxOutputTokens: 32, minDelay: 0, maxDelay: 0.1, seed: 7 })
  expect(run.conversations?.completed).toBe(6)
  // Round 1 = every first turn, round 2 = every later turn.
  expect(run).toHaveCacheSpeedup({ stat: 'p50', atLeast: 1.5 })
  expect(run).toMeetSlo({ ttft: ['p(90) < 1000'], errorRate: ['rate < 0.01'] })
})
