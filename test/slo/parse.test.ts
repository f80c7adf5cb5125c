import { describe, expect, it } from 'vitest'
import { InputError } from '../../src/errors.ts'
import { parseExpression, parseSlo } from '../../src/slo/index.ts'

function parseError(input: unknown, where = 'toMeetSlo'): InputError {
  try {
    parseSlo(input, where)
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return error as InputError
  }
  throw new Error('parsed without error')
}

describe('parseSlo accepts', () => {
  it('the seed YAML shape under slo:, with itl_ms meaning per-request TPOT', () => {
    const spec = parseSlo({ slo: { ttft_ms: 1000, itl_ms: 50, latency_ms: 10000 } }, 'slo.yaml')
    expect(spec.perRequest).toEqual({ ttftMs: 1000, tpotMs: 50, latencyMs: 10000 })
    expect(spec.terms).toEqual([])
    expect(spec.source).toEqual({ ttft_ms: 1000, itl_ms: 50, latency_ms: 10000 })
    expect(spec.where).toBe('slo.yaml')
  })

  it('tpot_ms and latency_ms at the top level', () => {
    expect(parseSlo({ tpot_ms: 40, latency_ms: 5000 }, 'x').perRequest).toEqual({ tpotMs: 40, latencyMs: 5000 })
  })

  it('k6-style expressions for every metric kind, a single string or a list', () => {
    const spec = parseSlo({
      ttft: ['p(90) < 800', 'avg<=300'],
      tpot: 'avg < 50',
      itl: ['p(99.9) < 100'],
      latency: ['max < 20000', 'med > 1', 'min >= 0', 'stddev < 500', 'count == 10'],
      inputTokens: ['avg < 4000'],
      output_tokens: ['p(50) > 10'],
      errorRate: ['rate < 0.01'],
      goodput: ['rate > 0.9'],
      throughput: ['value > 100'],
      requestThroughput: ['value > 2'],
      goodput_throughput: ['value >= 1.5'],
    }, 'toMeetSlo')
    expect(spec.terms.map((t) => [t.metric, t.aggregation, t.percentile, t.op, t.limit])).toEqual([
      ['ttft', 'p', 90, '<', 800],
      ['ttft', 'avg', undefined, '<=', 300],
      ['tpot', 'avg', undefined, '<', 50],
      ['itl', 'p', 99.9, '<', 100],
      ['latency', 'max', undefined, '<', 20000],
      ['latency', 'med', undefined, '>', 1],
      ['latency', 'min', undefined, '>=', 0],
      ['latency', 'stddev', undefined, '<', 500],
      ['latency', 'count', undefined, '==', 10],
      ['inputTokens', 'avg', undefined, '<', 4000],
      ['outputTokens', 'p', 50, '>', 10],
      ['errorRate', 'rate', undefined, '<', 0.01],
      ['goodput', 'rate', undefined, '>', 0.9],
      ['throughput', 'value', undefined, '>', 100],
      ['requestThroughput', 'value', undefined, '>', 2],
      ['goodputThroughput', 'value', undefined, '>=', 1.5],
    ])
    expect(spec.terms[1]?.expression).toBe('avg<=300')
    expect(spec.source.outputTokens).toEqual(['p(50) > 10'])
    expect(spec.perRequest).toEqual({})
  })

  it('both shapes mixed, top level and under slo:', () => {
    const spec = parseSlo({ slo: { ttft_ms: 1000, errorRate: ['rate < 0.05'] }, ttft: ['p(95) < 900'] }, 'x')
    expect(spec.perRequest).toEqual({ ttftMs: 1000 })
    expect(spec.terms.map((t) => t.expression)).toEqual(['rate < 0.05', 'p(95) < 900'])
  })

  it.each([
    ['p(100) < 5', 100], ['p( 0.5 ) < 5', 0.5], ['P(95)<5', 95], ['p(99.99) <= 1e3', 99.99],
  ])('percentile form %s', (text, n) => {
    const term = parseExpression(text, 'ttft')
    expect(typeof term).toBe('object')
    expect(term).toMatchObject({ aggregation: 'p', percentile: n })
  })

  it('skips keys whose value is undefined (optional fields in code)', () => {
    expect(parseSlo({ ttft_ms: undefined, latency_ms: 5000, ttft: undefined }, 'x').perRequest).toEqual({ latencyMs: 5000 })
  })

  it('=== is read as ==', () => {
    expect(parseExpression('count === 3', 'ttft')).toMatchObject({ op: '==', limit: 3 })
  })
})

describe('parseSlo rejects, naming where, the key, the text and the accepted forms', () => {
  it.each([
    [{ ttfb: ['p(90) < 800'] }, /^toMeetSlo: ttfb: unknown SLO key "ttfb" \(did you mean "ttft"\?\); accepted keys: ttft_ms, itl_ms, tpot_ms, latency_ms .*errorRate/],
    [{ bananas: ['avg < 1'] }, /^toMeetSlo: bananas: unknown SLO key "bananas"; accepted keys/],
    [{ ttft: ['p90 < 800'] }, /^toMeetSlo: ttft\[0\]: unknown aggregation "p90" \(did you mean p\(90\)\?\) in "p90 < 800"; ttft accepts "<aggregation> <op> <number>" with aggregation avg, min, max, med, count, stddev or p\(N\)/],
    [{ ttft: ['mean < 800'] }, /ttft\[0\]: unknown aggregation "mean" in "mean < 800"/],
    [{ ttft: ['rate < 0.5'] }, /ttft\[0\]: aggregation "rate" does not apply to ttft in "rate < 0.5"/],
    [{ errorRate: ['avg < 0.1'] }, /errorRate\[0\]: aggregation "avg" does not apply to errorRate in "avg < 0.1"; errorRate accepts "rate <op> <share 0-1>", e.g. "rate < 0.01"/],
    [{ throughput: ['p(95) > 10'] }, /throughput\[0\]: aggregation "p\(N\)" does not apply to throughput .*accepts "value <op> <number>"/],
    [{ goodput: ['rate > 90'] }, /goodput\[0\]: goodput rate is a share between 0 and 1, got 90 in "rate > 90" \(write 0.01 for 1%\)/],
    [{ ttft: ['p(0) < 5'] }, /ttft\[0\]: bad percentile "p\(0\)" in "p\(0\) < 5": N must be a number with 0 < N <= 100/],
    [{ ttft: ['p(101) < 5'] }, /bad percentile "p\(101\)"/],
    [{ ttft: ['p(abc) < 5'] }, /bad percentile "p\(abc\)"/],
    [{ ttft: ['p < 5'] }, /"p" needs a percentile, p\(N\), in "p < 5"/],
    [{ ttft: ['avg(3) < 5'] }, /"avg" takes no argument in "avg\(3\) < 5"/],
    [{ ttft: ['avg 5'] }, /expected an operator \(<, <=, >, >=, ==\) after "avg", found "5", in "avg 5"/],
    [{ ttft: ['avg'] }, /expected an operator .* found nothing/],
    [{ ttft: ['avg != 5'] }, /expected an operator/],
    [{ ttft: ['avg << 5'] }, /unknown operator "<<" in "avg << 5"; expected one of/],
    [{ ttft: ['avg < fast'] }, /expected a number after "<", found "fast", in "avg < fast"/],
    [{ ttft: ['avg < 500ms'] }, /found "500ms" \(write the number without a unit; ttft is in ms\)/],
    [{ ttft: ['< 500'] }, /ttft\[0\]: malformed threshold "< 500"; ttft accepts/],
    [{ ttft: [''] }, /ttft\[0\]: malformed threshold ""/],
    [{ ttft: [800] }, /ttft\[0\]: expected a threshold expression string such as "p\(95\) < 500", got 800/],
    [{ ttft: [] }, /ttft: expected a threshold expression or a non-empty list of them, e.g. ttft: \["p\(95\) < 500"\], got \[\]/],
    [{ ttft: 800 }, /ttft: expected a threshold expression or a non-empty list/],
    [{ ttft_ms: '1000' }, /ttft_ms: expected a positive number of milliseconds, got "1000"/],
    [{ ttft_ms: 0 }, /ttft_ms: expected a positive number of milliseconds, got 0/],
    [{ latency_ms: ['max < 5'] }, /latency_ms: expected a positive number of milliseconds/],
    [{ itl_ms: 50, tpot_ms: 40 }, /tpot_ms: itl_ms and tpot_ms are the same limit/],
    [{ slo: { ttft_ms: 1 }, ttft_ms: 2 }, /"ttft_ms" is given twice/],
    [{ slo: ['ttft_ms'] }, /^toMeetSlo: slo: expected a mapping of SLO terms/],
    [{ slo: null }, /slo: expected a mapping of SLO terms .* got nothing/],
    [{}, /^toMeetSlo: the SLO has no terms/],
    [null, /^toMeetSlo: expected a mapping of SLO terms/],
    [['p(95) < 5'], /expected a mapping of SLO terms .* got a list/],
  ])('%j', (input, expected) => {
    expect(parseError(input).message).toMatch(expected)
  })

  it('a nested key path names slo. and the list index', () => {
    expect(parseError({ slo: { latency: ['avg < 1', 'p(200) < 2'] } }, 'my.yaml').message).toMatch(/^my\.yaml: slo\.latency\[1\]: bad percentile/)
  })

  it('a single-string value names the key without an index', () => {
    expect(parseError({ tpot: 'avg << 1' }).message).toMatch(/^toMeetSlo: tpot: unknown operator/)
  })
})
