// An ordinary unit test file using fluxperf's matchers: the plugin in vitest.config.ts registers them
// and points dualRound() at the built-in mock.
import { describe, expect, test } from 'vitest'
import { dualRound } from '../src/index.ts'

describe('an app team checks its serving SLO inside its own test suite', () => {
  // The run lasts about 0.2 s: one stall of a loaded machine in it (55 ms in a CI run on 2 cores busy with other
  // test files) is its event-loop delay p99, and toMeetSlo then rightly fails as "not trustworthy". A retry measures
  // again; an SLO that is missed fails every attempt.
  test('short answers meet the latency SLO at 4 concurrent users', { retry: 2 }, async () => {
    const run = await dualRound({ dataset: 'datasets/formats/text.jsonl', concurrency: [4], maxOutputTokens: 16, seed: 1 })
    expect(run).toMeetSlo({ ttft: ['p(95) < 2000'], latency: ['p(99) < 5000'], errorRate: ['rate < 0.01'] })
    expect(run).toHaveErrorRate({ below: 0.01 })
    // One expression per metric needs no list (and type-checks: `Slo` takes a string or a list).
    expect(run).toMeetSlo({ ttft: 'p(95) < 2000', errorRate: 'rate < 0.01' })
    expect(run).not.toMeetSlo({ ttft: ['p(95) < 0.001'] })
  })
})
