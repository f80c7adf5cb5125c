// Multi-round QA users in an open loop (the workload of the Python multi-round QA tool, 004): sends are
// scheduled at 4 QPS whatever is in flight, and every one is accounted for (late, dropped). Runs against
// the built-in mock unless FLUXPERF_ENDPOINT is set.
import { expect, test } from 'vitest'
import { multiRoundQa } from 'fluxperf'

test('QA users at 4 QPS: every send made, the rate met, TTFT within the SLO', async () => {
  const run = await multiRoundQa({ qps: 4, time: 3, numUsers: 4, numRounds: 3, sharedSystemPrompt: 500, userHistoryPrompt: 200, answerLen: 32, seed: 7 })
  expect(run.openLoop?.dropped).toBe(0)
  expect(run.openLoop?.achievedRate).toBeGreaterThan(3.8)
  expect(run).toMeetSlo({ ttft: ['p(95) < 500'], errorRate: ['rate < 0.01'] })
})
