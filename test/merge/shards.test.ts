import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loadRun, mergeRuns } from '../../src/merge/index.ts'
import { decodeHistogram, summariseRound } from '../../src/metrics/index.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import type { RequestRecord, RunResult, TrafficResult } from '../../src/types.ts'
import { runDualRound, runMultiRoundQa, runMultiTurn, runTraffic } from '../../src/workloads/index.ts'
import { runCli } from '../helpers/cli.ts'

let mock: MockServer
let endpoint: string
const dir = mkdtempSync(join(tmpdir(), 'fluxperf-shards-'))
beforeAll(async () => {
  mock = await startMockServer({ jitter: 0 })
  endpoint = `${mock.url}/v1/chat/completions`
})
afterAll(async () => {
  await mock.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A run and its records. */
async function recorded<R extends RunResult>(run: (onRequest: (r: RequestRecord) => void) => Promise<R>): Promise<{ run: R; records: RequestRecord[] }> {
  const records: RequestRecord[] = []
  return { run: await run((r) => records.push(r)), records }
}

/** What identifies a request whatever the shard that sent it. */
const key = (r: RequestRecord): string => `${r.sessionId}|${r.turnIndex}|${r.round}|${r.inputTokens}|${r.outputTokens}`
const totals = (run: RunResult): number[] => [run.rounds.reduce((n, r) => n + r.total, 0), run.rounds.reduce((n, r) => n + r.avgInputTokens * r.succeeded, 0), run.rounds.reduce((n, r) => n + r.avgOutputTokens * r.succeeded, 0)]

describe('the shards of a run send exactly the whole run\'s requests, and merge into it', () => {
  const n = 3
  const cases: [string, (shard: { index: number; count: number } | undefined, onRequest: (r: RequestRecord) => void) => Promise<RunResult>][] = [
    ['traffic (open loop)', (shard, onRequest) => runTraffic({ endpoint, seed: 5, rate: 30, duration: 1, inputTokens: 16, maxOutputTokens: 4, shard, hooks: { onRequest } })],
    ['multi-round QA (users by slot)', (shard, onRequest) => runMultiRoundQa({ endpoint, seed: 5, qps: 20, time: 1.5, numUsers: 5, numRounds: 2, answerLen: 4, shard, hooks: { onRequest } })],
    ['dual-round (conversations)', (shard, onRequest) => runDualRound({ endpoint, seed: 5, dataset: 'fluxperf:example', concurrency: [3, 6], maxOutputTokens: 4, shard, resetCacheUrl: `${mock.url}/reset_prefix_cache`, hooks: { onRequest } })],
    ['multi-turn (conversations)', (shard, onRequest) => runMultiTurn({ endpoint, seed: 5, conversations: 5, turns: 2, parallel: 3, maxOutputTokens: 4, minDelay: 0, maxDelay: 0.01, shard, hooks: { onRequest } })],
  ]
  for (const [name, run] of cases) {
    test(name, async () => {
      const whole = await recorded((onRequest) => run(undefined, onRequest))
      const parts = await Promise.all(Array.from({ length: n }, (_, index) => recorded((onRequest) => run({ index, count: n }, onRequest))))
      // The union of the shards' requests is the whole run's: same sessions, turns, prompt and answer lengths.
      expect(parts.flatMap((p) => p.records).map(key).sort()).toEqual(whole.records.map(key).sort())
      for (const [i, p] of parts.entries()) expect(p.run.shard).toMatchObject({ index: i, count: n })
      const merged = mergeRuns(parts.map((p, i) => ({ name: `shard-${i}`, run: p.run }))).run
      expect(totals(merged)).toEqual(totals(whole.run).map((x) => expect.closeTo(x, 6)))
      expect(merged.rounds.map((r) => [r.label, r.total])).toEqual(whole.run.rounds.map((r) => [r.label, r.total]))
      expect(merged.mergedFrom).toMatchObject({ shards: n, names: ['shard-0', 'shard-1', 'shard-2'] })
      expect(merged.shard).toBeUndefined()
      // Warmed only if every shard warmed its client.
      const warmed = (cold: number) => mergeRuns(parts.map((p, i) => ({ name: `shard-${i}`, run: { ...p.run, client: { ...p.run.client, warmedUp: i !== cold } } }))).run.client.warmedUp
      expect(warmed(-1)).toBe(true)
      expect(warmed(1)).toBe(false)
      // The merged histograms are the histograms of every shard's requests together, exactly.
      for (const round of merged.rounds) {
        const records = parts.flatMap((p) => p.records).filter((r) => `${r.round}` === `${round.round}` && (round.concurrency === 0 || r.concurrency === round.concurrency))
        const rebuilt = summariseRound({ label: round.label, concurrency: round.concurrency, round: round.round }, records)
        for (const metric of ['ttft', 'latency', 'itl', 'outputTokens'] as const) {
          const a = decodeHistogram(round.histograms[metric] as string)
          const b = decodeHistogram(rebuilt.histograms[metric] as string)
          expect(a.totalCount, `${round.label} ${metric}`).toBe(b.totalCount)
          for (const p of [50, 90, 99, 100]) expect(a.getValueAtPercentile(p), `${round.label} ${metric} p${p}`).toBe(b.getValueAtPercentile(p))
          expect(round.metrics[metric]!.avg).toBeCloseTo(rebuilt.metrics[metric]!.avg, 6)
          expect(round.metrics[metric]!.max).toBe(rebuilt.metrics[metric]!.max)
        }
      }
    }, 60_000)
  }
})

describe('a split that would not make up the whole run is refused', () => {
  test('a level below the number of shards, too few conversations, resets between levels', async () => {
    const shard = { index: 0, count: 4 }
    await expect(runDualRound({ endpoint, seed: 1, dataset: 'fluxperf:example', concurrency: [2, 8], shard })).rejects.toThrow(/--concurrency: 2 in flight cannot be split over 4 shards/)
    await expect(runDualRound({ endpoint, seed: 1, dataset: 'fluxperf:example', samples: 3, concurrency: [4], shard })).rejects.toThrow(/--shard: 4 shards for 3 conversations/)
    await expect(runDualRound({ endpoint, seed: 1, dataset: 'fluxperf:example', concurrency: [4, 8], resetCacheBetweenRounds: true, shard })).rejects.toThrow(/--reset-cache-between-rounds: a sharded run cannot empty the cache between levels/)
    await expect(runMultiTurn({ endpoint, seed: 1, conversations: 8, parallel: 2, shard })).rejects.toThrow(/--parallel: 2 in flight cannot be split over 4 shards/)
    await expect(runTraffic({ endpoint, seed: 1, concurrency: 3, requests: 8, shard })).rejects.toThrow(/--concurrency: 3 in flight cannot be split over 4 shards/)
    await expect(runTraffic({ endpoint, seed: 1, rate: 1, duration: 1, startAt: 1_733_000_000 })).rejects.toThrow(/startAt: expected an ISO-8601 time/)
  })
})

describe('a CI matrix shards a bench file through the environment', () => {
  test('FLUXPERF_SHARD and FLUXPERF_START_AT reach the workload functions; options in code win', async () => {
    const { traffic } = await import('../../src/workloads/index.ts')
    const saved = { ...process.env }
    process.env['FLUXPERF_SHARD'] = '2/3'
    process.env['FLUXPERF_START_AT'] = new Date(Date.now() + 500).toISOString()
    try {
      const run = await traffic({ endpoint, seed: 1, rate: 30, duration: 0.5, inputTokens: 8, maxOutputTokens: 2 })
      expect(run.shard).toMatchObject({ index: 1, count: 3, startAt: process.env['FLUXPERF_START_AT'] })
      expect(run.rounds[0]!.total).toBe(5)
      const own = await traffic({ endpoint, seed: 1, rate: 30, duration: 0.5, inputTokens: 8, maxOutputTokens: 2, shard: { index: 0, count: 1 }, startAt: undefined })
      expect(own.rounds[0]!.total).toBe(15)
      process.env['FLUXPERF_SHARD'] = '0/3'
      await expect(traffic({ endpoint, seed: 1, rate: 1, duration: 1 })).rejects.toThrow(/FLUXPERF_SHARD: expected i\/n with 1 ≤ i ≤ n/)
    } finally {
      process.env = saved
    }
  })
})

describe('an open loop split over shards keeps the one schedule', () => {
  test('the union of the shards\' intended send times is the single run\'s', async () => {
    const single = await recorded((onRequest) => runTraffic({ endpoint, seed: 9, rate: 40, duration: 1, arrival: 'poisson', inputTokens: 8, maxOutputTokens: 2, hooks: { onRequest } }))
    const startAt = Date.now() + 1500
    const shards = await Promise.all([0, 1, 2, 3].map((index) => recorded((onRequest) => runTraffic({ endpoint, seed: 9, rate: 40, duration: 1, arrival: 'poisson', inputTokens: 8, maxOutputTokens: 2, shard: { index, count: 4 }, startAt, hooks: { onRequest } }))))
    const offsets = (records: RequestRecord[], t0: number): Map<number, number> => new Map(records.map((r) => [r.index, (r.scheduledAt as number) - t0]))
    const one = offsets(single.records, Math.min(...single.records.map((r) => r.scheduledAt as number)))
    const union = offsets(shards.flatMap((s) => s.records), startAt)
    expect([...union.keys()].sort((a, b) => a - b)).toEqual([...one.keys()].sort((a, b) => a - b))
    // Each shard's timeline starts within a few ms of startAt (its own wait's timer): generous tolerance.
    for (const [index, at] of one) expect(Math.abs((union.get(index) as number) - at), `arrival ${index}`).toBeLessThan(100)
    for (const s of shards) {
      expect(s.run.shard!.startAt).toBe(new Date(startAt).toISOString())
      expect(s.run.shard!.startLagMs).toBeGreaterThanOrEqual(0)
    }
  }, 60_000)
})

describe('fluxperf merge', () => {
  // The Kubernetes manifest's command: the index from JOB_COMPLETION_INDEX, a common --start-at. Without the
  // client's warm-up: four processes preparing at once on two cores must be ready before the start instant.
  async function shardRun(index: number, count: number, out: string, startAt: string, seed = '3'): Promise<void> {
    const r = await runCli(['traffic', '--endpoint', endpoint, '--rate', '20', '--duration', '1', '--input-tokens', '8', '--max-output-tokens', '2', '--seed', seed,
      '--shards', String(count), '--start-at', startAt, '--no-warm-client', '--save-requests', '--no-report', '--no-progress', '--output-dir', out], { env: { JOB_COMPLETION_INDEX: String(index) } })
    expect(r.stderr).toMatch(/waiting [\d.]+ s to start at/)
    expect(r.code).toBe(0)
  }

  test('merges the shards of the manifest\'s command into one run, judged by the SLO; a missing shard is exit 1', async () => {
    const startAt = new Date(Date.now() + 4000).toISOString()
    const dirs = [0, 1, 2, 3].map((i) => join(dir, `k8s/shard-${i}`))
    await Promise.all(dirs.map((d, i) => shardRun(i, 4, d, startAt)))
    const slo = join(dir, 'slo.yaml')
    writeFileSync(slo, 'ttft: ["p(90) < 5000"]\n')
    const out = join(dir, 'k8s/merged')
    const r = await runCli(['merge', ...dirs, '-o', out, '--slo-file', slo])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Merged 4 shards of a traffic run \(seed 3\)[\s\S]*20 saved requests in requests_merged\.jsonl/)
    const merged = loadRun(out) as TrafficResult
    expect(merged.rounds[0]!.total).toBe(20)
    expect(merged.openLoop!.scheduled).toBe(20)
    expect(merged.mergedFrom!.shards).toBe(4)
    expect(readFileSync(join(out, 'requests_merged.jsonl'), 'utf8').trim().split('\n')).toHaveLength(20)
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['run.json', 'metrics_summary.csv', 'report.html', 'requests_merged.jsonl']))
    // The SLO is judged on the merged run: one it misses exits 99.
    writeFileSync(slo, 'ttft: ["p(90) < 0.001"]\n')
    expect((await runCli(['merge', ...dirs, '-o', join(dir, 'k8s/m99'), '--slo-file', slo])).code).toBe(99)
    const missing = await runCli(['merge', ...dirs.slice(0, 3), '-o', join(dir, 'k8s/m1')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/merge: shard 4\/4 missing/)
    const failed = await runCli(['merge', ...dirs.slice(0, 3), join(dir, 'k8s/never-ran'), '-o', join(dir, 'k8s/m2')])
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/never-ran: no such directory \(a shard that never ran\?\)/)
  }, 90_000)

  test('shards of different runs are refused with exit 2, naming what differs', async () => {
    const startAt = new Date(Date.now() + 3000).toISOString()
    await Promise.all([shardRun(0, 2, join(dir, 'mix/a'), startAt), shardRun(1, 2, join(dir, 'mix/b'), startAt, '4')])
    const r = await runCli(['merge', join(dir, 'mix/a'), join(dir, 'mix/b'), '-o', join(dir, 'mix/m')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/b is not a shard of the same run as a: seed 4, not 3/)
  }, 60_000)

  test('bad shard flags name the flag', async () => {
    for (const [args, env, message] of [
      [['--shard', '5/4'], {}, /--shard: expected i\/n with 1 ≤ i ≤ n/],
      [['--shards', '4'], { JOB_COMPLETION_INDEX: '' }, /--shards: needs JOB_COMPLETION_INDEX/],
      [['--shards', '2'], { JOB_COMPLETION_INDEX: '2' }, /JOB_COMPLETION_INDEX 2 is not below --shards 2/],
      [['--shard', '1/2', '--start-at', 'tomorrow'], {}, /--start-at: .*expected an ISO-8601 time with a zone/],
      [['--shard', '1/2', '--seed', '1', '--start-at', '2026-01-01T00:00:00Z', '--start-in', '3'], {}, /--start-in: give either --start-at or --start-in/],
    ] as [string[], Record<string, string>, RegExp][]) {
      const r = await runCli(['traffic', '--mock-server', '--rate', '1', '--duration', '1', '--seed', '1', '--no-progress', '--output-dir', join(dir, 'bad'), ...args], { env })
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(message)
    }
    const noSeed = await runCli(['traffic', '--mock-server', '--rate', '1', '--duration', '1', '--shard', '1/2', '--no-progress', '--output-dir', join(dir, 'bad')])
    expect(noSeed.code).toBe(2)
    expect(noSeed.stderr).toMatch(/--seed: a sharded run needs --seed/)
  }, 60_000)
})
