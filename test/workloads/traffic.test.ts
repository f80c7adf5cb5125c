import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { parseTrace } from '../../src/data/index.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import type { RequestRecord } from '../../src/types.ts'
import { runTraffic } from '../../src/workloads/index.ts'
import type { TrafficOptions } from '../../src/workloads/index.ts'

let mock: MockServer
let endpoint: string
beforeAll(async () => {
  mock = await startMockServer({ jitter: 0 })
  endpoint = `${mock.url}/v1/chat/completions`
})
afterAll(() => mock.close())

const base = (): Pick<TrafficOptions, 'endpoint' | 'seed' | 'maxOutputTokens' | 'inputTokens' | 'resetCacheUrl'> => ({ endpoint, seed: 1, maxOutputTokens: 4, inputTokens: 32, resetCacheUrl: `${mock.url}/reset_prefix_cache` })

describe('traffic', () => {
  test('rate: every scheduled send is sent and answered, in one group named by its rate', async () => {
    const run = await runTraffic({ ...base(), rate: 20, duration: 1.5 })
    expect(run.workload).toBe('traffic')
    expect(run.rounds.map((r) => r.label)).toEqual(['Rate20.00'])
    expect(run.rounds[0]!.total).toBe(30)
    expect(run.rounds[0]!.failed).toBe(0)
    expect(run.openLoop).toMatchObject({ scheduled: 30, sent: 30, dropped: 0, targetRate: 20 })
    expect(run.schedule).toMatchObject({ mode: 'rate', rate: 20, sent: 30, endedBy: 'schedule', prompts: 'synthetic, 32 tokens' })
    expect(run.saturation?.saturated).toBe(false)
    expect(run.config).toMatchObject({ rate: 20, duration: 1.5, inputTokens: 32 })
    // Synthetic prompts are exact in the run's tokenizer; the mock counts a few template tokens more, the same for every request.
    expect(run.rounds[0]!.metrics.inputTokens!.min).toBe(run.rounds[0]!.metrics.inputTokens!.max)
  })

  test('stages: one group per stage, each with its stage\'s sends', async () => {
    const run = await runTraffic({ ...base(), stages: [{ rate: 10, duration: 1 }, { rate: 30, duration: 1 }] })
    expect(run.rounds.map((r) => [r.label, r.total])).toEqual([['Stage1-Rate10.00', 10], ['Stage2-Rate30.00', 30]])
    expect(run.openLoop?.scheduled).toBe(40)
    expect(run.openLoop?.targetRate).toBe(20)
  })

  test('concurrency: a closed loop of the requests asked for', async () => {
    const starts: number[] = []
    const run = await runTraffic({ ...base(), concurrency: 3, requests: 12, hooks: { onRequest: (r) => starts.push(r.index) } })
    expect(run.rounds.map((r) => [r.label, r.total, r.concurrency])).toEqual([['Concurrency3', 12, 3]])
    expect(run.openLoop).toBeUndefined()
    expect(new Set(starts).size).toBe(12)
  })

  test('endWhen ends the schedule early; the requests in flight finish', async () => {
    const run = await runTraffic({ ...base(), rate: 50, duration: 30, checkInterval: 0.1, endWhen: (s) => s.settled >= 10 })
    expect(run.schedule.endedBy).toBe('endWhen')
    expect(run.schedule.elapsedS).toBeLessThan(20)
    expect(run.rounds[0]!.total).toBe(run.schedule.sent)
    expect(run.rounds[0]!.failed).toBe(0)
    expect(run.interrupted).toBe(false)
  })

  test('bad options name what was expected', async () => {
    await expect(runTraffic({ endpoint } as TrafficOptions)).rejects.toThrow(/say what load to send: --rate/)
    await expect(runTraffic({ endpoint, rate: 1, concurrency: 2 })).rejects.toThrow(/give one of --rate, --stages, --trace and --concurrency, not --rate and --concurrency/)
    await expect(runTraffic({ endpoint, rate: 1, timeScale: 2 })).rejects.toThrow(/--time-scale: applies to --trace only/)
    await expect(runTraffic({ endpoint, trace: 'fluxperf:trace-example', dataset: 'fluxperf:example' })).rejects.toThrow(/--dataset: a trace brings its own prompt lengths/)
    await expect(runTraffic({ endpoint, rate: 1, rat: 2 } as never)).rejects.toThrow(/traffic: unknown option "rat"/)
    await expect(runTraffic({ endpoint, stages: [{ rate: 0, duration: 1 }] })).rejects.toThrow(/--stages: stage 1: rate must be a number > 0/)
    await expect(runTraffic({ endpoint, trace: 'fluxperf:trace-example', inputTokens: 8 })).rejects.toThrow(/--input-tokens: a trace brings its own prompt lengths/)
    await expect(runTraffic({ endpoint, rate: 1, dataset: 'fluxperf:example', prefixTokens: 8 })).rejects.toThrow(/--prefix-tokens: synthetic prompts only/)
    await expect(runTraffic({ endpoint, concurrency: 2, arrival: 'poisson' })).rejects.toThrow(/--arrival: applies to --rate and --stages/)
  })

  test('a trace cut from a longer one replays from its first request, not from its timestamp 0', async () => {
    const trace = parseTrace([30_000, 30_100, 30_200].map((t) => JSON.stringify({ timestamp: t, input_length: 8, output_length: 1 })).join('\n'), 'cut')
    const run = await runTraffic({ endpoint, seed: 1, trace })
    expect(run.rounds[0]!.total).toBe(3)
    expect(run.schedule.elapsedS).toBeLessThan(10)
    expect(run.openLoop!.targetRate).toBeCloseTo(3 / 0.2, 0)
  })

  test('a record\'s scheduledAt is on the clock its startedAt is stamped with, and the schedule lag runs to startedAt', async () => {
    // The wall clock an hour behind the process's own (a slewed or stepped clock): the records' times must not follow it.
    const wall = Date.now
    const skewed = vi.spyOn(Date, 'now').mockImplementation(() => wall() - 3_600_000)
    const records: RequestRecord[] = []
    try {
      const run = await runTraffic({ ...base(), rate: 40, duration: 0.5, hooks: { onRequest: (r) => void records.push(r) } })
      expect(records).toHaveLength(20)
      const waits = records.map((r) => r.startedAt - (r.scheduledAt as number))
      for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(0)
      // Generous: a loaded machine may start a request late, never by the wall clock's hour.
      expect(Math.max(...waits)).toBeLessThan(5_000)
      // The lag includes the client's time from the timer to the request's start (tens of µs at least); the
      // recorder keeps its max to a fraction of a µs.
      expect(run.openLoop!.scheduleLag.max).toBeGreaterThanOrEqual(Math.max(...waits) - 0.001)
    } finally {
      skewed.mockRestore()
    }
  })

  test('a hook that throws ends the run with its error once the requests in flight end, not an unhandled rejection', async () => {
    let calls = 0
    const run = runTraffic({ ...base(), rate: 20, duration: 5, hooks: { onRequest: () => { if (++calls === 3) throw new Error('hook broke') } } })
    await expect(run).rejects.toThrow(/hook broke/)
  })
})

describe('trace replay', () => {
  test('10,000 requests in 50 shared-prefix groups replay in order, every send accounted for, and the mock caches the share the hash_ids imply', async () => {
    // Request i belongs to group i % 50: its 3 leading blocks are the group's, its 4th its own. Sent 1 ms apart.
    const lines = Array.from({ length: 10_000 }, (_, i) => {
      const g = i % 50
      return JSON.stringify({ timestamp: i, input_length: 64, output_length: 1, hash_ids: [g * 3, g * 3 + 1, g * 3 + 2, 1000 + i] })
    })
    const trace = parseTrace(lines.join('\n'), 'generated')
    const records: RequestRecord[] = []
    const run = await runTraffic({ endpoint, seed: 1, trace, traceBlockSize: 16, resetCacheUrl: `${mock.url}/reset_prefix_cache`, hooks: { onRequest: (r) => records.push(r) } })
    expect(run.openLoop).toMatchObject({ scheduled: 10_000, sent: 10_000, dropped: 0 })
    expect(run.rounds[0]!.total).toBe(10_000)
    expect(run.rounds[0]!.failed).toBe(0)
    expect(records).toHaveLength(10_000)
    // In order: the intended send times follow the trace's order, one per request.
    const byIndex = [...records].sort((a, b) => a.index - b.index)
    for (let i = 1; i < byIndex.length; i++) expect(byIndex[i]!.scheduledAt!).toBeGreaterThanOrEqual(byIndex[i - 1]!.scheduledAt!)
    expect(new Set(records.map((r) => r.index)).size).toBe(10_000)
    // 50 first sends miss, every later one finds its group's 48 tokens: 0.75 × (1 − 50/10,000) of the trace's tokens.
    const implied = run.schedule.trace!.impliedPrefixShare
    expect(implied).toBeCloseTo(0.75 * (1 - 50 / 10_000), 3)
    const cached = run.rounds[0]!.cache.cachedShare!
    expect(Math.abs(cached - implied)).toBeLessThan(0.05)
  }, 120_000)
})
