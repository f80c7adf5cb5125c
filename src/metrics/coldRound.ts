import type { CacheEvidence, MetricName, RoundResult, RunResult } from '../types.ts'
import { percentileOfEncoded } from './histogram.ts'
import { noSamplesReason } from './speedup.ts'
import { TOKEN_METRICS } from './names.ts'

/**
 * Whether a cache speedup can be trusted: the cold round must have started cold. Shared by the
 * `toHaveCacheSpeedup` matcher and the CLI verdicts, so both say the same thing.
 *
 * Rules, for the cold group (dual-round: each level's round 1; multi-turn: turn 1):
 * - the server's cached-token counts say more than {@link MAX_COLD_CACHED_SHARE} of its prompt tokens were
 *   cached (first turns only, when they reported: a later turn legitimately reuses its own conversation) →
 *   `warm`: the ratio compares two warm rounds;
 * - else, those counts exist → `cold`;
 * - else a cache reset succeeded just before it → `cold`;
 * - else → `unverified` (fails unless the user accepts it).
 * Failed cold requests that reached the server are named: they may have warmed the cache.
 */
export const MAX_COLD_CACHED_SHARE = 0.5

/** What the cold round's evidence says. */
export interface ColdRoundAssessment {
  status: 'cold' | 'warm' | 'unverified'
  /** The cached share judged (first turns' when they reported, else the round's); null without counts. */
  coldShare: number | null
  /** The warm group's cached share, for the message. */
  warmShare: number | null
  /** One or two sentences: how coldness was established, or why not and how to fix it. */
  explanation: string
  /** Failed cold requests that may have warmed the cache, e.g. `c4-r1-3 (timeout)` (at most 20 kept). */
  suspects: string[]
  /** How many cold requests failed in all (the ids kept are the first ones). */
  suspectCount: number
}

/** Options of {@link assessCacheSpeedup}. */
export interface SpeedupAssessmentOptions {
  /** @default 'ttft' */
  metric?: MetricName
  /** avg, p50, p90, p95, p99, min, max, or any pN. @default 'p50' */
  stat?: string
  /** Smallest acceptable ratio; without it only the measurement's validity is judged. */
  atLeast?: number
  /** Only this level. */
  concurrency?: number
  /** Accept a cold round that neither a reset nor cached-token counts show to be cold. @default false */
  allowUnverifiedColdRound?: boolean
}

/** One level's cold / warm comparison and its verdict. */
export interface SpeedupAssessment {
  concurrency: number
  coldLabel: string | undefined
  warmLabel: string | undefined
  cold: number | null
  warm: number | null
  ratio: number | null
  /** Why `ratio` is null ("n/a"). */
  reason?: string
  coldRound: ColdRoundAssessment | undefined
  /** The measurement can be trusted: a ratio exists and the cold round was cold (or unverified and accepted). */
  valid: boolean
  /** Valid, and the ratio reaches `atLeast` when one is given. */
  ok: boolean
}

/** Every level's cold / warm comparison (round 1 / round 2 at the same concurrency), judged. */
export function assessCacheSpeedup(run: RunResult, options: SpeedupAssessmentOptions = {}): SpeedupAssessment[] {
  const metric = options.metric ?? 'ttft'
  const stat = options.stat ?? 'p50'
  const levels = [...new Set(run.rounds.filter((r) => r.round === 1 || r.round === 2).map((r) => r.concurrency))]
    .filter((c) => options.concurrency === undefined || c === options.concurrency)
  return levels.map((concurrency) => {
    const cold = run.rounds.find((r) => r.concurrency === concurrency && r.round === 1)
    const warm = run.rounds.find((r) => r.concurrency === concurrency && r.round === 2)
    const c = cold ? statOf(cold, metric, stat) : null
    const w = warm ? statOf(warm, metric, stat) : null
    let ratio: number | null = null
    let reason: string | undefined
    if (!cold) reason = `no cold round at concurrency ${concurrency}`
    else if (!warm) reason = `no warm round at concurrency ${concurrency}`
    else if (c === null) reason = `${noSamplesReason(cold, metric)} in ${cold.label}`
    else if (w === null) reason = `${noSamplesReason(warm, metric)} in ${warm.label}`
    else if (w <= 0) reason = `the warm ${metric} ${stat} is 0`
    else ratio = c / w
    const coldRound = cold ? assessColdRound(run, cold, warm, options.allowUnverifiedColdRound ?? false) : undefined
    const trusted = coldRound !== undefined && (coldRound.status === 'cold' || (coldRound.status === 'unverified' && (options.allowUnverifiedColdRound ?? false)))
    const valid = ratio !== null && trusted
    const ok = valid && (options.atLeast === undefined || (ratio as number) >= options.atLeast)
    const row: SpeedupAssessment = { concurrency, coldLabel: cold?.label, warmLabel: warm?.label, cold: c, warm: w, ratio, coldRound, valid, ok }
    if (reason) row.reason = reason
    return row
  })
}

/** Judges whether `cold` started cold (see the rules above). */
export function assessColdRound(run: RunResult, cold: RoundResult, warm: RoundResult | undefined, allowUnverified = false): ColdRoundAssessment {
  const first = cold.cache.firstTurns
  const judged: CacheEvidence = first && first.reportedBy > 0 ? first : cold.cache
  const coldShare = judged.reportedBy > 0 ? judged.cachedShare : null
  const warmShare = warm?.cache.cachedShare ?? null
  const suspects = (cold.failedRequests ?? []).filter((f) => f.kind !== 'connection_refused').map((f) => `${f.id} (${f.kind})`)
  const refused = cold.errors.find((e) => e.kind === 'connection_refused')?.count ?? 0
  const base = { coldShare, warmShare, suspects, suspectCount: cold.failed - refused }
  const reset = cold.cacheReset
  const onFirstTurns = judged === first && cold.cache.reportedBy > (first?.reportedBy ?? 0) ? ' on first turns' : ''
  if (coldShare !== null && coldShare > MAX_COLD_CACHED_SHARE) {
    const despite = reset?.ok ? ` The cache reset at ${reset.url ?? 'the reset URL'} succeeded just before it: does the server honour it?` : ''
    return {
      ...base,
      status: 'warm',
      explanation: `${cold.label} was not cold: the server reported ${pct(coldShare)} of its prompt tokens as cached${onFirstTurns} ` +
        `(${warm?.label ?? 'warm round'}: ${warmShare === null ? 'not reported' : pct(warmShare)}); over ${pct(MAX_COLD_CACHED_SHARE, 0)}, the ratio compares two warm rounds.${despite} ${resetAdvice(run)}`,
    }
  }
  if (coldShare !== null) {
    return { ...base, status: 'cold', explanation: `${cold.label} was cold: the server reported ${pct(coldShare)} of its prompt tokens as cached${onFirstTurns} (at most ${pct(MAX_COLD_CACHED_SHARE, 0)} allowed)` }
  }
  if (reset?.ok) {
    return { ...base, status: 'cold', explanation: `${cold.label} started after a successful cache reset (${reset.url ?? 'reset URL'}); the server reports no cached-token counts` }
  }
  const why = !reset ? 'no cache reset is recorded' : !reset.attempted ? 'no cache reset was made before it' : `the cache reset at ${reset.url ?? 'the reset URL'} failed (${reset.message ?? 'unknown error'})`
  const accept = allowUnverified
    ? ' Accepted as asked (allowUnverifiedColdRound / --allow-unverified-cold-round).'
    : ' Or accept an unverified cold round: --allow-unverified-cold-round, or { allowUnverifiedColdRound: true } in toHaveCacheSpeedup.'
  return {
    ...base,
    status: 'unverified',
    explanation: `cold round not verified: ${why} and the server reported no cached-token counts (usage.prompt_tokens_details.cached_tokens; vLLM sends them with --enable-prompt-tokens-details), ` +
      `so nothing shows that ${cold.label} started with an empty cache. ${resetAdvice(run)}${accept}`,
  }
}

/** `N requests of Turn1 failed ...: a (timeout), b (...)`, or undefined when none did. */
export function suspectsSentence(label: string, cold: ColdRoundAssessment): string | undefined {
  if (cold.suspectCount <= 0) return undefined
  const more = cold.suspectCount > cold.suspects.length ? `, and ${cold.suspectCount - cold.suspects.length} more` : ''
  const n = cold.suspectCount === 1 ? '1 request' : `${cold.suspectCount} requests`
  return `${n} of ${label} failed or timed out after reaching the server and may have warmed the cache for the rest: ${cold.suspects.join(', ')}${more}`
}

function resetAdvice(run: RunResult): string {
  if (run.workload === 'dual-round') {
    return 'Empty the cache before every round 1: --reset-cache (the engine\'s way: vLLM, SGLang, llama.cpp; resetCache: true in dualRound()), or --reset-cache-url <url> --reset-cache-between-rounds, or restart the server between levels.'
  }
  return 'Empty the cache before the run: --reset-cache (the engine\'s way: vLLM, SGLang, llama.cpp; resetCache: true in the options), or --reset-cache-url <url>, or restart the server.'
}

/** A statistic of a round's metric (any pN from its histogram), within the exact min and max; null without samples. */
export function statOf(round: RoundResult, metric: MetricName, stat: string): number | null {
  const summary = round.metrics[metric]
  if (!summary || summary.count === 0) return null
  const value = (summary as unknown as Record<string, number>)[stat]
  if (value !== undefined) return value
  const encoded = round.histograms[metric]
  const p = /^p(\d+(?:\.\d+)?)$/.exec(stat)
  if (!encoded || !p) return null
  const scale = TOKEN_METRICS.has(metric) ? 1 : 1000
  return Math.min(summary.max, Math.max(summary.min, percentileOfEncoded(encoded, Number(p[1]), scale)))
}

function pct(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)}%`
}
