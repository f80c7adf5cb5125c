import { describe, expect, it } from 'vitest'
import { evaluateSlo, parseSlo } from '../../src/slo/index.ts'
import type { SloCheck } from '../../src/slo/index.ts'
import { goodput, oneTo, round, run } from './fixtures.ts'

const spec = (input: Record<string, unknown>) => parseSlo(input, 'test')
const only = (checks: SloCheck[]): SloCheck => {
  expect(checks).toHaveLength(1)
  return checks[0] as SloCheck
}
const times = round({ samples: { ttft: oneTo(100), tpot: oneTo(10), latency: oneTo(100).map((v) => v * 10), itl: oneTo(1000).map((v) => v / 10), outputTokens: oneTo(10).map((v) => v * 10), inputTokens: [100, 200] } })

describe('evaluateSlo: distribution metrics', () => {
  it.each([
    ['ttft', 'p(90) < 95', 'p(90)', 90, true],
    ['ttft', 'p(90) < 80', 'p(90)', 90, false],
    ['ttft', 'p(99) <= 99.1', 'p(99)', 99, true],
    ['ttft', 'avg < 50', 'avg', 50.5, false],
    ['ttft', 'med < 50.1', 'med', 50, true],
    ['ttft', 'med > 50.1', 'med', 50, false],
    ['ttft', 'min >= 1', 'min', 1, true],
    ['ttft', 'max < 100', 'max', 100, false],
    ['ttft', 'p(100) <= 100', 'p(100)', 100, true],
    ['ttft', 'count == 100', 'count', 100, true],
    ['tpot', 'avg < 6', 'avg', 5.5, true],
    ['latency', 'p(95) < 900', 'p(95)', 950, false],
    ['inputTokens', 'max <= 200', 'max', 200, true],
  ])('%s %s', (metric, expression, statistic, observed, pass) => {
    const check = only(evaluateSlo(run([times]), spec({ [metric]: [expression] })))
    expect(check).toMatchObject({ label: 'Concurrency4-Round1', metric, statistic, pass, expression })
    expect(Math.abs((check.observed as number) - observed)).toBeLessThan(observed / 1000 + 1e-9) // HDR: 3 significant digits
    expect(check.reason).toBeUndefined()
  })

  it('stddev is the population standard deviation of the samples', () => {
    const check = only(evaluateSlo(run([times]), spec({ tpot: ['stddev < 3'] })))
    expect(check.observed).toBeCloseTo(Math.sqrt(8.25), 6)
    expect(check.pass).toBe(true)
  })

  it('other percentiles come from the HDR histogram (ms for times)', () => {
    const [p75, p999] = evaluateSlo(run([times]), spec({ ttft: ['p(75) < 76'], itl: ['p(99.9) < 99'] }))
    expect(p75?.observed).toBeCloseTo(75, 1)
    expect(p75?.pass).toBe(true)
    expect(p999?.observed).toBeCloseTo(99.9, 1)
    expect(p999?.pass).toBe(false)
  })

  it('histogram percentiles stay within the exact min and max', () => {
    const check = only(evaluateSlo(run([round({ samples: { ttft: [1000, 1000, 1000] } })]), spec({ ttft: ['p(99.9) <= 1000'] })))
    expect(check).toMatchObject({ observed: 1000, pass: true })
  })

  it('token percentiles use the token histogram scale (1)', () => {
    const check = only(evaluateSlo(run([times]), spec({ outputTokens: ['p(80) >= 80'] })))
    expect(check.observed).toBe(80)
    expect(check.pass).toBe(true)
  })
})

describe('evaluateSlo: rates and throughputs', () => {
  const r = round({ total: 20, failed: 1, goodput: goodput(18, 20, 4), durationS: 4, throughput: { outputTokensPerS: 120, requestsPerS: 4.75 } })
  it.each([
    ['errorRate', 'rate < 0.1', 0.05, true],
    ['errorRate', 'rate < 0.01', 0.05, false],
    ['goodput', 'rate > 0.85', 0.9, true],
    ['goodput', 'rate >= 0.95', 0.9, false],
    ['throughput', 'value > 100', 120, true],
    ['throughput', 'value > 150', 120, false],
    ['requestThroughput', 'value > 2', 4.75, true],
    ['requestThroughput', 'value >= 5', 4.75, false],
    ['goodputThroughput', 'value > 4', 4.5, true],
    ['goodputThroughput', 'value > 5', 4.5, false],
  ])('%s %s', (metric, expression, observed, pass) => {
    const check = only(evaluateSlo(run([r]), spec({ [metric]: [expression] })))
    expect(check).toMatchObject({ metric, observed, pass })
  })

  it('goodput fails with a reason when the run has no goodput', () => {
    const checks = evaluateSlo(run([round()]), spec({ goodput: ['rate > 0.5'], goodputThroughput: ['value > 0'] }))
    expect(checks.map((c) => [c.pass, c.observed, c.reason])).toEqual([
      [false, null, 'run has no goodput (no per-request SLO given)'],
      [false, null, 'run has no goodput (no per-request SLO given)'],
    ])
  })
})

describe('evaluateSlo: a missing metric never passes silently', () => {
  it('a metric the round does not have', () => {
    const check = only(evaluateSlo(run([round({ samples: { latency: [1] } })]), spec({ ttft: ['p(90) < 100000'] })))
    expect(check).toMatchObject({ pass: false, observed: null, reason: 'round has no ttft metric' })
  })

  it('a metric with no samples (every request failed)', () => {
    const check = only(evaluateSlo(run([round({ total: 3, failed: 3, samples: { ttft: [] } })]), spec({ ttft: ['avg < 100000'] })))
    expect(check).toMatchObject({ pass: false, observed: null, reason: 'no ttft samples (0 of 3 requests succeeded)' })
  })

  it('count of an empty metric is 0, compared normally', () => {
    const check = only(evaluateSlo(run([round({ total: 3, failed: 3, samples: { ttft: [] } })]), spec({ ttft: ['count > 0'] })))
    expect(check).toMatchObject({ pass: false, observed: 0 })
  })

  it('a round with no requests fails rate and throughput terms', () => {
    const checks = evaluateSlo(run([round({ total: 0 })]), spec({ errorRate: ['rate < 1'], throughput: ['value >= 0'], requestThroughput: ['value >= 0'] }))
    expect(checks.every((c) => !c.pass && c.reason === 'round has no requests')).toBe(true)
  })

  it('a percentile without a histogram', () => {
    const r = round({ samples: { ttft: [1, 2, 3] } })
    r.histograms = {}
    const check = only(evaluateSlo(run([r]), spec({ ttft: ['p(75) < 10'] })))
    expect(check).toMatchObject({ pass: false, observed: null, reason: 'round has no ttft histogram for p(75)' })
  })
})

describe('evaluateSlo: per-request limits are reported as max < limit', () => {
  it('strictly below the limit, in the order ttft, itl (tpot), latency', () => {
    const checks = evaluateSlo(run([times]), spec({ slo: { ttft_ms: 100, itl_ms: 50, latency_ms: 1001 } }))
    expect(checks.map((c) => [c.metric, c.statistic, c.observed, c.pass, c.expression])).toEqual([
      ['ttft', 'max', 100, false, 'max < 100 (ttft_ms)'],
      ['tpot', 'max', 10, true, 'max < 50 (itl_ms)'],
      ['latency', 'max', 1000, true, 'max < 1001 (latency_ms)'],
    ])
  })

  it('names tpot_ms when that key was used', () => {
    expect(only(evaluateSlo(run([times]), spec({ tpot_ms: 50 }))).expression).toBe('max < 50 (tpot_ms)')
  })

  it('passes itl_ms with a note when no request had two tokens (as goodput does)', () => {
    const check = only(evaluateSlo(run([round({ samples: { tpot: [] } })]), spec({ itl_ms: 50 })))
    expect(check.pass).toBe(true)
    expect(check.reason).toMatch(/no request had 2\+ output tokens/)
  })

  it('come before the threshold terms', () => {
    const checks = evaluateSlo(run([times]), spec({ ttft: ['avg < 1000'], ttft_ms: 1000 }))
    expect(checks.map((c) => c.expression)).toEqual(['max < 1000 (ttft_ms)', 'avg < 1000'])
  })
})

describe('evaluateSlo: round selection', () => {
  const rounds = [
    round({ concurrency: 1, round: 1, samples: { ttft: [10] } }),
    round({ concurrency: 1, round: 2, samples: { ttft: [20] } }),
    round({ concurrency: 4, round: 1, samples: { ttft: [30] } }),
    round({ concurrency: 4, round: 2, samples: { ttft: [40] } }),
  ]
  const s = spec({ ttft: ['max < 25'], errorRate: ['rate < 0.5'] })

  it('checks every round by default, grouped by round', () => {
    const checks = evaluateSlo(run(rounds), s)
    expect(checks.map((c) => `${c.label} ${c.metric} ${c.pass}`)).toEqual([
      'Concurrency1-Round1 ttft true', 'Concurrency1-Round1 errorRate true',
      'Concurrency1-Round2 ttft true', 'Concurrency1-Round2 errorRate true',
      'Concurrency4-Round1 ttft false', 'Concurrency4-Round1 errorRate true',
      'Concurrency4-Round2 ttft false', 'Concurrency4-Round2 errorRate true',
    ])
  })

  it('by concurrency, round, or both', () => {
    expect(evaluateSlo(run(rounds), s, { concurrency: 4 }).map((c) => c.label)).toEqual(['Concurrency4-Round1', 'Concurrency4-Round1', 'Concurrency4-Round2', 'Concurrency4-Round2'])
    expect(evaluateSlo(run(rounds), s, { round: 2 }).filter((c) => c.metric === 'ttft').map((c) => c.observed)).toEqual([20, 40])
    expect(evaluateSlo(run(rounds), s, { concurrency: 1, round: 2 }).map((c) => c.observed)).toEqual([20, 0])
  })

  it('fails every term when nothing matches', () => {
    const checks = evaluateSlo(run(rounds), s, { concurrency: 8, round: 1 })
    expect(checks).toHaveLength(2)
    expect(checks.every((c) => c.label === '(no rounds)' && !c.pass && c.reason === 'no round matches concurrency 8, round 1')).toBe(true)
    expect(evaluateSlo(run([]), s)[0]?.reason).toBe('the run has no rounds')
  })
})
