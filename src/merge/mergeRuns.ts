import { InputError } from '../errors.ts'
import { dualRoundSpeedups, mergeMetric, METRIC_NAMES, speedupOf, TOKEN_METRICS } from '../metrics/index.ts'
import type {
  CacheEvidence, ErrorSummary, MetricName, MetricSummary, MultiRoundQaResult, MultiTurnResult, OpenLoopSummary, RoundResult, RunResult, TrafficResult, TurnStats,
} from '../types.ts'

/** Shards whose schedules started further apart than this are flagged (hosts' clocks, or a shard that prepared late). */
export const MAX_START_SPREAD_MS = 250

/** A shard that is missing, or did not finish: the merged run would not be the whole run. Exit 1 in the CLI. */
export class ShardMissingError extends Error {
  override readonly name = 'ShardMissingError'
}

/** One shard's result, named (its directory) for messages. */
export interface ShardRun {
  name: string
  run: RunResult
}

/** The merged run, with what the merge noticed. */
export interface MergedRun {
  run: RunResult
  /** Things worth saying: starts further apart than the bound, a saturated shard client. */
  notes: string[]
}

/** Config keys that differ between the shards of one run by design. */
const PER_SHARD_KEYS = new Set(['shard', 'startAt'])

/**
 * Merges the results of the shards of one run (`--shard i/n`, same seed and settings) into the result the
 * single run would have given: counts and token totals summed, histograms added (percentiles exact within HDR's 3
 * significant digits), means and deviations combined exactly, durations from the first start to the last end,
 * throughput recomputed over them. Workload sections (per turn, per document type, the open loop) merge the same
 * way. Design: docs/design/sharding.md.
 * @throws InputError when the shards are not of one run (workload, seed, model, settings, shard count), naming what differs
 * @throws ShardMissingError when an index is missing or repeated, or a shard was interrupted
 */
export function mergeRuns(shards: readonly ShardRun[], maxStartSpreadMs = MAX_START_SPREAD_MS): MergedRun {
  if (shards.length === 0) throw new InputError('no shards to merge', 'merge')
  const [first] = shards as [ShardRun, ...ShardRun[]]
  for (const s of shards) {
    if (!s.run.shard) throw new InputError(`${s.name} is not a shard (its run.json has no "shard"; run it with --shard i/n or --shards n)`, 'merge')
  }
  const count = first.run.shard!.count
  for (const s of shards) {
    const why = differs(first, s, count)
    if (why) throw new InputError(`${s.name} is not a shard of the same run as ${first.name}: ${why}`, 'merge')
  }
  const byIndex = new Map<number, ShardRun>()
  for (const s of shards) {
    const other = byIndex.get(s.run.shard!.index)
    if (other) throw new ShardMissingError(`${other.name} and ${s.name} are both shard ${s.run.shard!.index + 1} of ${count}`)
    byIndex.set(s.run.shard!.index, s)
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i))
  if (missing.length > 0) throw new ShardMissingError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i + 1}/${count}`).join(', ')} missing: the merged run would not be the whole run`)
  const interrupted = shards.filter((s) => s.run.interrupted)
  if (interrupted.length > 0) throw new ShardMissingError(`${interrupted.map((s) => `${s.name} (shard ${s.run.shard!.index + 1}/${count})`).join(', ')} did not finish (interrupted)`)

  const ordered = Array.from({ length: count }, (_, i) => byIndex.get(i) as ShardRun)
  const runs = ordered.map((s) => s.run)
  const notes: string[] = []
  const starts = runs.map((r) => Date.parse(r.shard!.startedAt))
  const spread = Math.max(...starts) - Math.min(...starts)
  if (spread > maxStartSpreadMs) {
    notes.push(`the shards started ${spread} ms apart (more than ${maxStartSpreadMs} ms): ${ordered.map((s, i) => `${s.name} ${new Date(starts[i] as number).toISOString()}`).join(', ')}; use --start-at, and check the hosts' clocks (NTP)`)
  }
  const saturated = ordered.filter((s) => s.run.client.saturated)
  if (saturated.length > 0) notes.push(`the client of ${saturated.map((s) => s.name).join(', ')} was saturated: its timings, and so the merged ones, are not trustworthy`)

  const labels = [...new Set(runs.flatMap((r) => r.rounds.map((x) => x.label)))]
  const rounds = labels.map((label) => mergeRounds(runs.flatMap((r) => r.rounds.filter((x) => x.label === label))))
  const base = first.run
  const client = {
    ...base.client,
    saturated: runs.some((r) => r.client.saturated),
    eventLoopDelayP99Ms: Math.max(...runs.map((r) => r.client.eventLoopDelayP99Ms)),
    eventLoopDelayMaxMs: Math.max(...runs.map((r) => r.client.eventLoopDelayMaxMs)),
    warmupRequests: runs.reduce((n, r) => n + (r.client.warmupRequests ?? 0), 0),
    // Warmed only if every part was (absent where no part said).
    ...(runs.some((r) => r.client.warmedUp !== undefined) ? { warmedUp: runs.every((r) => r.client.warmedUp === true) } : {}),
  }
  const { shard: _shard, prometheus: _prometheus, ...common } = base
  const merged = {
    ...common,
    config: withoutShard(base.config),
    startedAt: new Date(Math.min(...runs.map((r) => Date.parse(r.startedAt)))).toISOString(),
    finishedAt: new Date(Math.max(...runs.map((r) => Date.parse(r.finishedAt)))).toISOString(),
    interrupted: false,
    client,
    rounds,
    speedups: speedupsOf(base.workload, rounds),
    mergedFrom: { shards: count, names: ordered.map((s) => s.name), startSpreadMs: spread, ...(base.shard?.startAt ? { startAt: base.shard.startAt } : {}) },
    ...sectionOf(runs),
  } as RunResult
  if (merged.transport?.connections) {
    merged.transport = {
      ...merged.transport,
      connections: {
        ...merged.transport.connections,
        opened: runs.reduce((n, r) => n + (r.transport?.connections?.opened ?? 0), 0),
        reused: runs.reduce((n, r) => n + (r.transport?.connections?.reused ?? 0), 0),
      },
    }
  }
  return { run: merged, notes }
}

/** Why `s` is not a shard of the run `first` belongs to, or undefined. */
function differs(first: ShardRun, s: ShardRun, count: number): string | undefined {
  const a = first.run
  const b = s.run
  if (b.shard!.count !== count) return `it is one of ${b.shard!.count} shards, not ${count}`
  if (b.workload !== a.workload) return `workload ${b.workload}, not ${a.workload}`
  if (b.seed !== a.seed) return `seed ${b.seed}, not ${a.seed} (every shard must use the same --seed)`
  if (b.model !== a.model) return `model ${b.model}, not ${a.model}`
  if (b.endpoint !== a.endpoint) return `endpoint ${b.endpoint}, not ${a.endpoint}`
  const ca = withoutShard(a.config)
  const cb = withoutShard(b.config)
  const keys = [...new Set([...Object.keys(ca), ...Object.keys(cb)])].sort()
  const diff = keys.filter((k) => JSON.stringify(ca[k]) !== JSON.stringify(cb[k]))
  if (diff.length > 0) return `settings differ: ${diff.map((k) => `${k} ${JSON.stringify(ca[k]) ?? 'unset'} → ${JSON.stringify(cb[k]) ?? 'unset'}`).join(', ')}`
  return undefined
}

function withoutShard(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k]) => !PER_SHARD_KEYS.has(k)))
}


/** One round from the same round of every shard (see {@link mergeRuns}). */
export function mergeRounds(parts: readonly RoundResult[]): RoundResult {
  const [first] = parts as [RoundResult, ...RoundResult[]]
  const sum = (f: (r: RoundResult) => number): number => parts.reduce((n, r) => n + f(r), 0)
  const total = sum((r) => r.total)
  const succeeded = sum((r) => r.succeeded)
  const starts = parts.filter((r) => r.total > 0 && r.firstStartMs !== undefined).map((r) => r.firstStartMs as number)
  const ends = parts.filter((r) => r.total > 0 && r.lastEndMs !== undefined).map((r) => r.lastEndMs as number)
  const span = starts.length > 0 && ends.length > 0
  // From the first start to the last end over every shard; results written before the bounds were kept: the longest.
  const durationS = total === 0 ? 0 : span ? Math.max(0, (Math.max(...ends) - Math.min(...starts)) / 1000) : Math.max(...parts.map((r) => r.durationS))
  const perS = (n: number): number => (durationS > 0 ? n / durationS : 0)
  const inputTokens = sum((r) => r.avgInputTokens * r.succeeded)
  const outputTokens = sum((r) => r.avgOutputTokens * r.succeeded)
  const metrics: RoundResult['metrics'] = {}
  const histograms: RoundResult['histograms'] = {}
  for (const m of METRIC_NAMES) {
    if (parts.every((r) => r.metrics[m] === undefined)) continue
    const merged = mergeMetric(parts.map((r) => ({ summary: r.metrics[m], histogram: r.histograms[m] })), TOKEN_METRICS.has(m) ? 1 : 1000)
    metrics[m] = merged.summary
    histograms[m] = merged.histogram
  }
  const round: RoundResult = {
    label: first.label,
    concurrency: first.concurrency,
    round: first.round,
    total,
    succeeded,
    failed: total - succeeded,
    durationS,
    avgInputTokens: succeeded ? inputTokens / succeeded : 0,
    avgOutputTokens: succeeded ? outputTokens / succeeded : 0,
    metrics,
    histograms,
    throughput: { requestsPerS: perS(succeeded), outputTokensPerS: perS(outputTokens), inputTokensPerS: perS(inputTokens) },
    cache: { ...evidence(parts.map((r) => r.cache)), ...(parts.some((r) => r.cache.firstTurns) ? { firstTurns: evidence(parts.map((r) => r.cache.firstTurns).filter((c): c is CacheEvidence => c !== undefined)) } : {}) },
    errors: mergeErrors(parts.flatMap((r) => r.errors)),
  }
  if (span) {
    round.firstStartMs = Math.min(...starts)
    round.lastEndMs = Math.max(...ends)
  }
  // A reset that failed on any shard is the one kept: the cold round is verified only if every shard's worked.
  const reset = parts.find((r) => r.cacheReset?.attempted && !r.cacheReset.ok)?.cacheReset ?? parts.find((r) => r.cacheReset)?.cacheReset
  if (reset) round.cacheReset = reset
  const failedRequests = parts.flatMap((r) => r.failedRequests ?? []).slice(0, 20)
  if (failedRequests.length > 0) round.failedRequests = failedRequests
  if (parts.some((r) => r.toolCalls)) round.toolCalls = { requests: sum((r) => r.toolCalls?.requests ?? 0), calls: sum((r) => r.toolCalls?.calls ?? 0) }
  const notes: Record<string, number> = {}
  for (const r of parts) for (const [k, v] of Object.entries(r.notes ?? {})) notes[k] = (notes[k] ?? 0) + (v ?? 0)
  if (Object.keys(notes).length > 0) round.notes = notes
  if (parts.some((r) => r.goodput)) {
    const good = sum((r) => r.goodput?.requests ?? 0)
    const goodTokens = sum((r) => r.goodput?.tokens ?? 0)
    round.goodput = {
      requests: good, totalRequests: total, requestShare: total ? good / total : 0,
      tokens: goodTokens, totalTokens: outputTokens, tokenShare: outputTokens ? goodTokens / outputTokens : 0,
      requestsPerS: perS(good), tokensPerS: perS(goodTokens),
    }
  }
  return round
}

function evidence(parts: readonly CacheEvidence[]): CacheEvidence {
  const promptTokens = parts.reduce((n, c) => n + c.promptTokens, 0)
  const cachedTokens = parts.reduce((n, c) => n + c.cachedTokens, 0)
  const reportedBy = parts.reduce((n, c) => n + c.reportedBy, 0)
  return { promptTokens, cachedTokens, reportedBy, cachedShare: reportedBy > 0 && promptTokens > 0 ? cachedTokens / promptTokens : null }
}

function mergeErrors(errors: readonly ErrorSummary[]): ErrorSummary[] {
  const byKind = new Map<string, ErrorSummary>()
  for (const e of errors) {
    const seen = byKind.get(e.kind)
    if (seen) seen.count += e.count
    else byKind.set(e.kind, { ...e })
  }
  return [...byKind.values()].sort((a, b) => b.count - a.count)
}

function speedupsOf(workload: RunResult['workload'], rounds: RoundResult[]): RunResult['speedups'] {
  if (workload === 'dual-round') return dualRoundSpeedups(rounds)
  if (workload === 'multi-turn') {
    const [cold, warm] = rounds
    return cold && warm ? [speedupOf(cold, warm, 'ttft', 'avg'), speedupOf(cold, warm, 'ttft', 'p50')] : []
  }
  return []
}

function mergeGroups<T extends { ttft: MetricSummary; latency: MetricSummary; histograms?: { ttft: string; latency: string } }>(groups: readonly T[]): Pick<T, 'ttft' | 'latency' | 'histograms'> {
  const ttft = mergeMetric(groups.map((g) => ({ summary: g.ttft, histogram: g.histograms?.ttft })))
  const latency = mergeMetric(groups.map((g) => ({ summary: g.latency, histogram: g.histograms?.latency })))
  return { ttft: ttft.summary, latency: latency.summary, histograms: { ttft: ttft.histogram, latency: latency.histogram } }
}

function mergeTurns(parts: readonly TurnStats[][]): TurnStats[] {
  const turns = [...new Set(parts.flat().map((t) => t.turn))].sort((a, b) => a - b)
  return turns.map((turn) => ({ turn, ...mergeGroups(parts.flat().filter((t) => t.turn === turn)) }))
}

/** One open-loop summary from the shards' (or worker threads'): counts summed, histograms added. */
export function mergeOpenLoop(parts: readonly OpenLoopSummary[]): OpenLoopSummary {
  const sum = (f: (o: OpenLoopSummary) => number): number => parts.reduce((n, o) => n + f(o), 0)
  const stat = (key: 'scheduleLag' | 'latencyFromScheduled' | 'ttftFromScheduled'): { summary: MetricSummary; histogram: string } => mergeMetric(parts.map((o) => ({ summary: o[key], histogram: o.histograms?.[key] })))
  const lag = stat('scheduleLag')
  const latency = stat('latencyFromScheduled')
  const ttft = stat('ttftFromScheduled')
  return {
    // The shards ran over the same window: their targets add up; the rate made is every send over the longest window
    // (a shard that fell behind stretched its own), as the single run would count it.
    targetRate: sum((o) => o.targetRate),
    achievedRate: (() => {
      const window = Math.max(...parts.map((o) => (o.achievedRate > 0 ? o.sent / o.achievedRate : 0)))
      return window > 0 ? sum((o) => o.sent) / window : 0
    })(),
    scheduled: sum((o) => o.scheduled),
    sent: sum((o) => o.sent),
    late: sum((o) => o.late),
    dropped: sum((o) => o.dropped),
    scheduleLag: lag.summary,
    latencyFromScheduled: latency.summary,
    ttftFromScheduled: ttft.summary,
    histograms: { scheduleLag: lag.histogram, latencyFromScheduled: latency.histogram, ttftFromScheduled: ttft.histogram },
  }
}

/** The workload's own section, merged. */
function sectionOf(runs: readonly RunResult[]): Record<string, unknown> {
  const first = runs[0] as RunResult
  switch (first.workload) {
    case 'dual-round':
      return {}
    case 'multi-turn': {
      const mt = runs as readonly MultiTurnResult[]
      const types = [...new Set(mt.flatMap((r) => r.byDocumentType.map((d) => d.type)))].sort()
      return {
        byTurn: mergeTurns(mt.map((r) => r.byTurn)),
        byDocumentType: types.map((type) => {
          const groups = mt.flatMap((r) => r.byDocumentType.filter((d) => d.type === type))
          return { type, requests: groups.reduce((n, g) => n + g.requests, 0), ...mergeGroups(groups) }
        }),
        conversations: {
          planned: mt.reduce((n, r) => n + r.conversations.planned, 0),
          started: mt.reduce((n, r) => n + r.conversations.started, 0),
          completed: mt.reduce((n, r) => n + r.conversations.completed, 0),
          endedByContextLimit: mt.reduce((n, r) => n + r.conversations.endedByContextLimit, 0),
        },
      }
    }
    case 'multi-round-qa': {
      const qa = runs as readonly MultiRoundQaResult[]
      const f = qa[0] as MultiRoundQaResult
      return {
        openLoop: mergeOpenLoop(qa.map((r) => r.openLoop)),
        byTurn: mergeTurns(qa.map((r) => r.byTurn)),
        schedule: { ...f.schedule, usersCreated: qa.reduce((n, r) => n + r.schedule.usersCreated, 0), elapsedS: Math.max(...qa.map((r) => r.schedule.elapsedS)) },
      }
    }
    case 'traffic': {
      const tr = runs as readonly TrafficResult[]
      const f = tr[0] as TrafficResult
      // Growth on any shard is the run's; the rate is judged on the whole (a shard's share of arrivals is not exactly 1/n).
      const growth = tr.filter((r) => r.saturation?.reasons.some((x) => !x.startsWith('sends made at')))
      const sent = tr.reduce((n, r) => n + (r.openLoop?.sent ?? 0), 0)
      const target = tr.reduce((n, r) => n + (r.openLoop ? r.openLoop.targetRate * (r.openLoop.achievedRate > 0 ? r.openLoop.sent / r.openLoop.achievedRate : 0) : 0), 0)
      const rateRatio = target > 0 ? Math.min(1, sent / target) : 1
      const endedBy = tr.find((r) => r.schedule.endedBy !== 'schedule')?.schedule.endedBy ?? 'schedule'
      return {
        ...(f.openLoop ? { openLoop: mergeOpenLoop(tr.map((r) => r.openLoop as OpenLoopSummary)) } : {}),
        ...(f.saturation ? {
          saturation: {
            saturated: growth.length > 0 || rateRatio < 0.9,
            reasons: [
              ...growth.flatMap((r) => r.saturation!.reasons.filter((x) => !x.startsWith('sends made at')).map((x) => `shard ${r.shard!.index + 1}: ${x}`)),
              ...(rateRatio < 0.9 ? [`the shards sent ${(rateRatio * 100).toFixed(0)} % of the sends their schedules asked for`] : []),
            ],
            ttftThirdsMs: null,
            rateRatio,
          },
        } : {}),
        schedule: {
          ...f.schedule,
          sent: tr.reduce((n, r) => n + r.schedule.sent, 0),
          connectionWaits: tr.reduce((n, r) => n + (r.schedule.connectionWaits ?? 0), 0),
          elapsedS: Math.max(...tr.map((r) => r.schedule.elapsedS)),
          endedBy,
        },
      }
    }
  }
}

