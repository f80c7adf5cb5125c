// The HTML report's data: exact numbers from the run, series down-sampled only for drawing.
import { describe, expect, test } from 'vitest'
import { reportData, reportHtml, timelineOf } from '../../src/report/html/index.ts'
import type { TimedRequest } from '../../src/report/html/index.ts'
import { dualRun, records } from '../helpers/runs.ts'

const run = dualRun(records(40, [100, 120, 140, 400]), records(40, [20, 25, 30, 35]))

describe('reportData', () => {
  test('CDFs come from the histograms: increasing, from the exact min to the exact max', () => {
    const data = reportData([{ name: 'a', run }])
    const cold = data.runs[0]!.rounds[0]!
    const cdf = cold.cdf.ttft!
    expect(cdf.share[0]).toBe(0)
    expect(cdf.share.at(-1)).toBe(1)
    expect(cdf.ms[0]).toBe(cold.stats.ttft!.min)
    expect(cdf.ms.at(-1)).toBe(cold.stats.ttft!.max)
    for (let i = 1; i < cdf.ms.length; i++) expect(cdf.ms[i]!).toBeGreaterThanOrEqual(cdf.ms[i - 1]!)
    // A quarter of the cold requests took 400 ms: the CDF is below 0.8 until then.
    const at300 = cdf.share[cdf.ms.findIndex((ms) => ms >= 300)]!
    expect(at300).toBeGreaterThan(0.7)
    expect(cold.stats.ttft!.p50).toBe(run.rounds[0]!.metrics.ttft!.p50)
  })

  test('the verdict lists every SLO term of every round; no SLO is "no verdict", not a pass', () => {
    expect(reportData([{ name: 'a', run }]).runs[0]!.verdict).toEqual({ passed: null, checks: [], problems: [] })
    const withSlo = { ...run, slo: { ttft: ['p(90) < 300', 'avg < 1000'] } }
    const verdict = reportData([{ name: 'a', run: withSlo }]).runs[0]!.verdict
    expect(verdict.checks.map((c) => `${c.round} ${c.metric} ${c.statistic} ${c.pass}`)).toEqual([
      'Concurrency4-Round1 ttft p(90) false', 'Concurrency4-Round1 ttft avg true', 'Concurrency4-Round2 ttft p(90) true', 'Concurrency4-Round2 ttft avg true',
    ])
    expect(verdict.passed).toBe(false)
  })

  test('runs with the same name get distinct legend names', () => {
    expect(reportData([{ name: 'results', run }, { name: 'results', run }]).runs.map((r) => r.name)).toEqual(['results', 'results (2)'])
  })
})

describe('timelineOf', () => {
  const at = (startedAt: number, latencyMs: number, extra: Partial<TimedRequest> = {}): TimedRequest => ({ startedAt, latencyMs, ttftMs: latencyMs / 2, ok: true, ...extra })

  test('requests in flight step up at each start and down at each end; an end and a start at one instant are not two in flight', () => {
    const t = timelineOf([at(1000, 100), at(1050, 100), at(1100, 50)])!
    expect(t.inFlight.n).toEqual([1, 2, 1, 2, 1, 0])
    expect(t.inFlight.t).toEqual([0, 0.05, 0.1, 0.1, 0.15, 0.15])
    expect(Math.max(...t.inFlight.n)).toBe(2)
    expect(t.downsampled).toBe(false)
    expect(t.ttft.ms).toEqual([50, 50, 25])
  })

  test('past maxPoints the series are down-sampled, keeping each bucket\'s extremes; the count stays exact', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => at(i, 5, { ttftMs: i === 7_777 ? 9_999 : 1 + (i % 7), ok: i % 1000 !== 0, error: i % 1000 === 0 ? { kind: 'timeout', message: 'x' } : undefined }))
    const t = timelineOf(many, 1_000)!
    expect(t.requests).toBe(10_000)
    expect(t.downsampled).toBe(true)
    expect(t.ttft.ms.length).toBeLessThanOrEqual(1_000)
    expect(Math.max(...t.ttft.ms)).toBe(9_999) // the outlier survives
    expect(Math.min(...t.ttft.ms)).toBe(1)
    expect(t.inFlight.n.length).toBeLessThanOrEqual(500)
    expect(t.errors.byKind['timeout']!.reduce((a, b) => a + b, 0)).toBe(10)
  })

  test('open-loop requests give the schedule lag', () => {
    const t = timelineOf([at(1010, 10, { scheduledAt: 1000 }), at(1100, 10, { scheduledAt: 1100 })])!
    expect(t.lag!.ms).toEqual([10, 0])
  })
})

test('reportHtml embeds the data so that no string in it can end the script element', () => {
  const evil = { ...run, model: '</script><script>alert(1)</script>' }
  const html = reportHtml('<script type="application/json" id="fluxperf-data">"__FLUXPERF_DATA__"</script>', reportData([{ name: 'a', run: evil }]))
  expect(html.match(/<\/script>/g)).toHaveLength(1)
  const json = html.slice(html.indexOf('>') + 1, html.lastIndexOf('</script>'))
  expect(JSON.parse(json).runs[0].model).toBe('</script><script>alert(1)</script>')
})
