import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { InputError } from '../../src/errors.ts'
import { decodeHistogram, summariseRound } from '../../src/metrics/index.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import type { RequestRecord, RoundResult, RunResult } from '../../src/types.ts'
import { runDualRound, runMultiRoundQa, runTraffic } from '../../src/workloads/index.ts'
import type { QaSnapshot } from '../../src/workloads/index.ts'

// `workers: n` (`--workers n`): the run's n shards in worker threads of this process, merged exactly.
// Bounded loads on the built-in mock; each test says what must equal the one-worker run.

let mock: MockServer
let endpoint: string
beforeAll(async () => {
  mock = await startMockServer({ port: 0, jitter: 0 })
  endpoint = `${mock.url}/v1/chat/completions`
})
afterAll(async () => {
  await mock.close()
})

interface Followed<R> {
  run: R
  records: RequestRecord[]
  starts: { label: string; total: number }[]
  completes: RoundResult[]
}

/** A run with every hook recorded. */
async function followed<R extends RunResult>(run: (hooks: object) => Promise<R>): Promise<Followed<R>> {
  const records: RequestRecord[] = []
  const starts: { label: string; total: number }[] = []
  const completes: RoundResult[] = []
  const result = await run({
    onRequest: (r: RequestRecord) => records.push(r),
    onRoundStart: (i: { label: string; total: number }) => starts.push({ label: i.label, total: i.total }),
    onRoundComplete: (round: RoundResult) => void completes.push(round),
  })
  return { run: result, records, starts, completes }
}

const key = (r: RequestRecord): string => `${r.sessionId}|${r.turnIndex}|${r.round}|${r.inputTokens}|${r.outputTokens}`
const totals = (run: RunResult): number[] => [
  run.rounds.reduce((n, r) => n + r.total, 0),
  run.rounds.reduce((n, r) => n + r.avgInputTokens * r.succeeded, 0),
  run.rounds.reduce((n, r) => n + r.avgOutputTokens * r.succeeded, 0),
]

describe('dual-round over 2 worker threads is the one-worker run, merged exactly', () => {
  let one: Followed<RunResult>
  let two: Followed<RunResult>
  beforeAll(async () => {
    const run = (workers: number) => (hooks: object) => runDualRound({ endpoint, seed: 7, dataset: 'fluxperf:example', concurrency: [4], maxOutputTokens: 4, workers, resetCacheUrl: `${mock.url}/reset_prefix_cache`, hooks })
    one = await followed(run(1))
    two = await followed(run(2))
  }, 60_000)

  test('same requests, counts and token totals; the result says 2 workers and is neither a shard nor a merge of files', () => {
    expect(two.records.map(key).sort()).toEqual(one.records.map(key).sort())
    // Ids are unique over the workers (a sharded run names a request by its session and turn: `c4-r1-s3-t0`).
    expect(new Set(two.records.map((r) => r.id)).size).toBe(two.records.length)
    expect(totals(two.run)).toEqual(totals(one.run).map((x) => expect.closeTo(x, 6)))
    expect(two.run.rounds.map((r) => [r.label, r.total, r.succeeded])).toEqual(one.run.rounds.map((r) => [r.label, r.total, r.succeeded]))
    expect(two.run.client.workers).toBe(2)
    expect(one.run.client.workers).toBeUndefined()
    expect(two.run.shard).toBeUndefined()
    expect(two.run.mergedFrom).toBeUndefined()
    expect(two.run.config['shard']).toBeUndefined()
    expect(two.run.seed).toBe(7)
    expect(two.run.interrupted).toBe(false)
    expect(two.run.speedups.length).toBe(one.run.speedups.length)
  })

  test('onRoundStart once per round with the whole round\'s total; onRoundComplete once per round, merged', () => {
    expect(two.starts).toEqual(one.starts)
    expect(two.completes.map((r) => [r.label, r.total])).toEqual(one.completes.map((r) => [r.label, r.total]))
    for (const round of two.completes) {
      const final = two.run.rounds.find((r) => r.label === round.label) as RoundResult
      expect(round.histograms).toEqual(final.histograms)
    }
  })

  test('each merged round\'s histograms are those of all forwarded records together', () => {
    for (const round of two.run.rounds) {
      const records = two.records.filter((r) => r.round === round.round && r.concurrency === round.concurrency)
      expect(records.length).toBe(round.total)
      const rebuilt = summariseRound({ label: round.label, concurrency: round.concurrency, round: round.round }, records)
      for (const metric of ['ttft', 'latency', 'itl', 'outputTokens'] as const) {
        const a = decodeHistogram(round.histograms[metric] as string)
        const b = decodeHistogram(rebuilt.histograms[metric] as string)
        expect(a.totalCount, `${round.label} ${metric}`).toBe(b.totalCount)
        for (const p of [50, 99, 100]) expect(a.getValueAtPercentile(p), `${round.label} ${metric} p${p}`).toBe(b.getValueAtPercentile(p))
        expect(round.metrics[metric]!.avg).toBeCloseTo(rebuilt.metrics[metric]!.avg, 6)
        expect(round.metrics[metric]!.max).toBe(rebuilt.metrics[metric]!.max)
      }
    }
  })
})

test('a traffic open loop over 2 workers: every scheduled arrival of the one-worker schedule is sent or dropped, once', async () => {
  const run = (workers: number) => (hooks: object) => runTraffic({ endpoint, seed: 3, rate: 40, duration: 1, inputTokens: 16, maxOutputTokens: 4, workers, hooks })
  const one = await followed(run(1))
  const two = await followed(run(2))
  const o1 = one.run.workload === 'traffic' ? one.run.openLoop! : undefined
  const o2 = two.run.workload === 'traffic' ? two.run.openLoop! : undefined
  expect(o2!.scheduled).toBe(o1!.scheduled)
  expect(o2!.sent + o2!.dropped).toBe(o2!.scheduled)
  expect(two.records.length).toBe(o2!.sent)
  // Each arrival keeps its index in the one schedule: the same set of arrivals.
  expect(two.records.map((r) => r.index).sort((a, b) => a - b)).toEqual(one.records.map((r) => r.index).sort((a, b) => a - b))
  expect(two.run.rounds.reduce((n, r) => n + r.total, 0)).toBe(two.records.length)
}, 60_000)

test('bad input is an InputError naming --workers', async () => {
  const base = { endpoint, seed: 1, dataset: 'fluxperf:example' }
  await expect(runDualRound({ ...base, workers: 0 })).rejects.toThrow(/--workers: expected a whole number ≥ 1, got 0/)
  await expect(runDualRound({ ...base, workers: 1.5 })).rejects.toThrow(InputError)
  await expect(runDualRound({ ...base, workers: 2, shard: { index: 0, count: 2 } })).rejects.toThrow(/--workers: give either --workers .* or --shard/)
  await expect(runDualRound({ ...base, workers: 2, samples: 1 } as never)).rejects.toThrow(/--workers: 2 worker threads for 1 conversations/)
  await expect(runDualRound({ ...base, workers: 2, headers: { x: (() => 1) as never } })).rejects.toThrow(/--workers: the options cannot be handed to worker threads/)
}, 60_000)

test('aborting the signal stops every worker; what completed is returned, marked interrupted', async () => {
  const controller = new AbortController()
  const records: RequestRecord[] = []
  const run = await runTraffic({
    endpoint, seed: 4, rate: 50, duration: 30, inputTokens: 16, maxOutputTokens: 4, workers: 2, signal: controller.signal, inFlightGraceMs: 2000,
    hooks: { onRequest: (r) => {
      records.push(r)
      if (records.length === 20) controller.abort()
    } },
  })
  expect(run.interrupted).toBe(true)
  expect(run.client.workers).toBe(2)
  // Far fewer than the 1,500 planned, and every record forwarded is counted.
  const total = run.rounds.reduce((n, r) => n + r.total, 0)
  expect(total).toBeGreaterThanOrEqual(20)
  expect(total).toBeLessThan(200)
  expect(records.length).toBe(total)
}, 60_000)

test('precision on: each worker enters it in its own thread (they prepare one after another), and the result says so', async () => {
  const notices: string[] = []
  const run = await runTraffic({ endpoint, seed: 6, rate: 20, duration: 0.5, inputTokens: 8, maxOutputTokens: 2, workers: 2, precision: 'on', hooks: { onNotice: (m) => notices.push(m) } })
  expect(run.client.precision.active).toBe(true)
  expect(run.client.precision.changes).toEqual(expect.arrayContaining([expect.stringMatching(/client warmed up/), 'in each of 2 worker threads (warm-up and collections per thread; the V8 flag is process-wide)']))
  // Each worker warmed its own isolate up: two lines, each with its own warm-up.
  expect(notices.filter((m) => m.startsWith('precision on')).length).toBeGreaterThanOrEqual(1)
  expect(run.openLoop!.sent + run.openLoop!.dropped).toBe(run.openLoop!.scheduled)
}, 60_000)

test('periodic snapshots (QA) are the workers\' merged: the whole target rate, every worker\'s sends', async () => {
  const snapshots: QaSnapshot[] = []
  const run = await runMultiRoundQa({ endpoint, seed: 8, qps: 20, time: 1.5, numUsers: 4, numRounds: 2, answerLen: 4, logInterval: 0.4, workers: 2, hooks: { onInterval: (s) => snapshots.push(s) } })
  expect(snapshots.length).toBeGreaterThan(0)
  for (const s of snapshots) {
    expect(s.openLoop.targetRate).toBeCloseTo(20, 6)
    expect(s.round.total).toBeLessThanOrEqual(run.openLoop.sent)
  }
  expect(run.openLoop.targetRate).toBeCloseTo(20, 6)
}, 60_000)

test('traffic endWhen (as fluxperf sweep gives it) is judged on the merged snapshot, and ends every worker', async () => {
  const seen: number[] = []
  const run = await runTraffic({
    endpoint, seed: 9, rate: 40, duration: 20, inputTokens: 8, maxOutputTokens: 2, workers: 2, checkInterval: 0.2,
    endWhen: (s) => {
      seen.push(s.sent)
      return s.elapsedS >= 0.8
    },
  })
  expect(run.schedule.endedBy).toBe('endWhen')
  expect(run.schedule.sent).toBeLessThan(200)
  // The merged snapshot counts both workers' sends: more than one worker's share (half) of what was sent by then.
  expect(Math.max(...seen)).toBeGreaterThan(run.schedule.sent / 2)
}, 60_000)
